"""Fixtures for API tests: clients authenticated by session or device token, and the pages'
world (responsible persons, grid cells, shifts) reused as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from gridguard.accounts import services as accounts
from tests.conftest import City
from tests.pages.conftest import world  # noqa: F401 - re-exported fixture


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_as(login: Callable[[str], Client]) -> Callable[[str], Client]:
    """A client whose session is one of the city's users (no second factor set up)."""
    return login


@pytest.fixture
def api_token(city: City) -> Callable[..., tuple[Client, Any]]:
    """A client sending a device token issued by the admin for one of the city's areas."""

    def make(area: str = "street_a", purpose: str = "integration") -> tuple[Client, Any]:
        token, secret = accounts.issue_token(
            city.users["admin"], name=f"{purpose}@{area}", purpose=purpose, area=city[area]
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}"), token

    return make
