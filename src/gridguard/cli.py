"""The `gridguard` console script: every Django management command behind one name."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a management command, e.g. `gridguard migrate` or `gridguard demo --seed 1`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridguard.config.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["gridguard", *argv])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
