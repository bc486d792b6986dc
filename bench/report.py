"""Collect the benchmark results and rewrite the table in docs/performance.md.

Each benchmark calls `save(result)` (import it with `from report import save`; the bench folder
is on sys.path when a bench runs as a script), which writes bench/results/<bench>.json with the
machine and date added. `make bench` runs every bench, then this script, which (re)writes the
section between `<!-- bench:start -->` and `<!-- bench:end -->` of docs/performance.md.

Run: `.venv/bin/python bench/report.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> str:
    """CPU count and memory of this machine, e.g. "2 CPU, 23.4 GiB RAM"."""
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} CPU{mem}, {platform.machine()}"


def database() -> str:
    """The database kind the benches ran against (from DATABASE_URL)."""
    url = os.environ.get("DATABASE_URL", "")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def save(result: dict[str, Any]) -> Path:
    """Write one bench's result (plus machine, date, database) to bench/results/<bench>.json."""
    RESULTS.mkdir(exist_ok=True)
    full = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "database": database(),
        **result,
    }
    path = RESULTS / f"{result['bench']}.json"
    path.write_text(json.dumps(full, indent=1) + "\n")
    return path


def fmt(v: Any) -> str:
    """A table cell: numbers with sensible precision, None as a dash."""
    if v is None or v == "":
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v).replace("|", "\\|")


def table(results: list[dict[str, Any]]) -> str:
    """The markdown table of every result."""
    head = (
        "| bench | value | unit | reference | reference is | ratio | target | machine | date "
        "| database | command |"
    )
    rows = [head, "|" + "---|" * 11]
    for r in results:
        cells = [
            r.get("bench"),
            r.get("value"),
            r.get("unit"),
            r.get("reference"),
            r.get("reference_name"),
            r.get("ratio"),
            r.get("target"),
            r.get("machine"),
            r.get("date"),
            r.get("database"),
            f"`{r['command']}`" if r.get("command") else f"`bench/{r.get('bench')}.py`",
        ]
        rows.append("| " + " | ".join(fmt(c) for c in cells) + " |")
    extras = []
    for r in results:
        lat = {k: r[k] for k in sorted(r) if k.endswith("_ms")}
        if lat:
            extras.append(f"- {r['bench']}: " + ", ".join(f"{k} {fmt(v)}" for k, v in lat.items()))
    text = "\n".join(rows)
    if extras:
        text += "\n\nLatencies:\n\n" + "\n".join(extras)
    return text


def rewrite(doc: Path, body: str) -> None:
    """Replace the marked section of `doc` with `body` (appending the markers if missing)."""
    text = doc.read_text() if doc.exists() else "# Performance\n"
    section = f"{START}\n{body}\n{END}"
    if START in text and END in text:
        text = re.sub(
            re.escape(START) + r".*?" + re.escape(END),
            lambda _m: section,
            text,
            count=1,
            flags=re.S,
        )
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text)


def main() -> int:
    """Read bench/results/*.json and rewrite the table; 1 when there is nothing to report."""
    results = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            results.append(json.loads(path.read_text()))
        except ValueError as e:
            print(f"skipping {path.name}: {e}", file=sys.stderr)
    if not results:
        print("no results in bench/results/: run the benches first", file=sys.stderr)
        return 1
    rewrite(DOC, table(results))
    print(f"{DOC.relative_to(HERE.parent)}: {len(results)} benchmark(s) written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
