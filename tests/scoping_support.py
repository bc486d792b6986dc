"""The parts of the scoping proof each app's `tests/<app>/scoping_cases.py` uses.

`tests/core/test_scoping.py` proves `visible_to()` for every scoped model and
`tests/core/test_scoping_channels.py` proves every door (page, API, export, admin) uses it. An
app contributes its models by defining, in `tests/<app>/scoping_cases.py`:

    ROW_MAKERS = {Model: lambda city, side: <a row in street `side` ("a" or "b")>}
    READERS = {Model: [Reader(...), ..., ADMIN]}

`collect()` gathers them, so no app edits another's test file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.test import Client

from tests.conftest import City

RowMaker = Callable[[City, str], models.Model]


@dataclass(frozen=True)
class Reader:
    """One channel: who reads ("operator" or "admin" of a street), what, and the row's marker."""

    channel: str
    who: str
    fetch: Callable[[Client, City, Any], Any]  # returns the response
    marker: Callable[[City, Any], str]


def get(path: str) -> Callable[[Client, City, Any], Any]:
    """A reader fetch that GETs a fixed path."""
    return lambda c, _city, _row: c.get(path)


def admin_change(c: Client, _city: City, row: Any) -> Any:
    meta = row._meta
    return c.get(f"/admin/{meta.app_label}/{meta.model_name}/{row.pk}/change/")


def code_marker(_city: City, row: Any) -> str:
    return str(row.code)


def area_code_marker(_city: City, row: Any) -> str:
    return str(row.area.code)


ADMIN = Reader("admin", "admin", admin_change, lambda _c, row: "")


def collect(attr: str) -> dict[type[models.Model], Any]:
    """Merge `attr` ("ROW_MAKERS" or "READERS") from every tests/<app>/scoping_cases.py."""
    import tests

    merged: dict[type[models.Model], Any] = {}
    for info in sorted(pkgutil.iter_modules(tests.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"tests.{info.name}.scoping_cases")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{info.name}.scoping_cases":
                raise
            continue
        merged.update(getattr(module, attr, {}))
    return merged
