"""The ticket taxonomy: 9 management priorities, 20 classes, 32 subclasses (seed 002, Xuhui).

Loaded once from `taxonomy.json` (a copy of the team's shared taxonomy). Codes are stable and
stored on tickets; names are shown to users in Chinese, or in English when the page is English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import get_language

PATH = Path(__file__).with_name("taxonomy.json")


@dataclass(frozen=True)
class Subclass:
    code: str
    name: str
    en: str
    class_code: str
    class_name: str
    class_en: str
    priority_code: str
    priority_name: str
    priority_en: str
    department: str

    def label(self) -> str:
        """The name in the active language."""
        return self.en if _english() else self.name

    def class_label(self) -> str:
        return self.class_en if _english() else self.class_name

    def priority_label(self) -> str:
        return self.priority_en if _english() else self.priority_name


def _english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


@cache
def _load() -> tuple[dict[str, Subclass], dict[str, str]]:
    data = json.loads(PATH.read_text(encoding="utf-8"))
    subclasses: dict[str, Subclass] = {}
    for priority in data["priorities"]:
        for klass in priority["classes"]:
            for sub in klass["subclasses"]:
                subclasses[sub["code"]] = Subclass(
                    code=sub["code"],
                    name=sub["name"],
                    en=sub["en"],
                    class_code=klass["code"],
                    class_name=klass["name"],
                    class_en=klass["en"],
                    priority_code=priority["code"],
                    priority_name=priority["name"],
                    priority_en=priority["en"],
                    department=klass["department"],
                )
    return subclasses, dict(data["departments"])


def subclasses() -> dict[str, Subclass]:
    """Every subclass by code, in taxonomy order."""
    return _load()[0]


def subclass(code: str) -> Subclass | None:
    """One subclass, or None for an unknown code."""
    return _load()[0].get(code)


def departments() -> dict[str, str]:
    """Department kinds by code with their Chinese names."""
    return _load()[1]


def subclass_choices() -> list[tuple[str, str]]:
    """(code, "S01 name") pairs for forms, in the active language."""
    return [(s.code, f"{s.code} {s.label()}") for s in subclasses().values()]


def class_codes() -> list[str]:
    """The 20 class codes in order."""
    return list(dict.fromkeys(s.class_code for s in subclasses().values()))


def priority_codes() -> list[str]:
    """The 9 priority codes in order."""
    return list(dict.fromkeys(s.priority_code for s in subclasses().values()))
