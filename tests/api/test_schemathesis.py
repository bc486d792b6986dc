"""Property-based fuzzing of the whole `/api/v1/` API from its own OpenAPI document.

Schemathesis generates requests (valid and invalid) for every operation and checks that the
API never answers with a server error, answers only with status codes it declares, and that
every answer matches its declared schema. It runs against the WSGI application in-process,
authenticated two ways: a device token over the whole city, and a system administrator's
session (with a CSRF token, so writes are exercised too).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from gridguard.accounts import services as accounts
from gridguard.accounts.models import ApiToken
from gridguard.config.wsgi import application
from gridguard.territory.models import Area
from tests.conftest import City, audit_triggers_lifted, build_city

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
CSRF = "GridGuardFuzzCsrfToken0123456789"  # any 32 letters/digits is a valid CSRF secret

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _audit_triggers_off(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Lift the audit table's append-only triggers while this module runs.

    A transactional test ends by flushing every table, audit rows too, which the triggers
    refuse; they come back after this module's last flush (as in tests/browser/conftest.py).
    """
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def fuzz_city(transactional_db: Any) -> City:
    """The shared city, committed: the WSGI app's request_finished closes the connection,
    which would roll back a test wrapped in one transaction."""
    return build_city()


@pytest.fixture
def api_schema(fuzz_city: City) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def token_headers(fuzz_city: City) -> dict[str, str]:
    _token, secret = accounts.issue_token(
        fuzz_city.users["admin"], name="fuzz", purpose="integration", area=fuzz_city["city"]
    )
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_session(fuzz_city: City) -> dict[str, Any]:
    client = Client()
    client.force_login(fuzz_city.users["admin"])
    return {
        "headers": {"X-CSRFToken": CSRF},
        "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
    }


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, read from the API object (no request needed)."""
    from gridguard.config.api import api

    paths = api.get_openapi_schema()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops]


def _operations_with_within() -> set[tuple[str, str]]:
    from gridguard.config.api import api

    paths = api.get_openapi_schema()["paths"]
    return {
        (m.upper(), p)
        for p, ops in paths.items()
        for m, op in ops.items()
        if any(q["name"] == "within" for q in op.get("parameters", []))
    }


OPERATIONS = _operations()
WITHIN = _operations_with_within()
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _real_values() -> dict[str, list[Any]]:
    """Codes and ids that exist, so that generated requests also reach past the 404s."""
    return {
        "code": list(Area.objects.order_by("code").values_list("code", flat=True)),
        "token_id": list(ApiToken.objects.order_by("pk").values_list("pk", flat=True)),
        "kind": ["gate", "compound", "checkpoint", "market", "street"],
    }


def _with_real_values(cases: Any, has_within: bool) -> Any:
    """Half of the cases get an existing area code (path `code`, query `within`, body
    `area_code`) or token id in place of the generated value."""
    real = _real_values()

    def swap(pair: tuple[Any, int | None]) -> Any:
        case, pick = pair
        if pick is None:
            return case
        code = real["code"][pick % len(real["code"])]
        params = case.path_parameters or {}
        if "code" in params:
            params["code"] = code
        if "token_id" in params and real["token_id"]:
            params["token_id"] = real["token_id"][pick % len(real["token_id"])]
        if has_within:
            case.query = {**(case.query or {}), "within": code}
        if isinstance(case.body, dict) and "area_code" in case.body:
            case.body = {**case.body, "area_code": code}
        return case

    return st.tuples(cases, st.none() | st.integers(min_value=0, max_value=10_000)).map(swap)


def _fuzz(schema: Any, method: str, path: str, **call: Any) -> int:
    """Run the checks on generated cases for one operation; returns how many were sent.

    Schemathesis's own pytest integration (`from_fixture`/`parametrize`) does not run under
    pytest 9 (it sets `Node._nodeid`), so the operation's Hypothesis strategy is driven here.
    """
    operation = schema[path][method]
    sent = 0

    @FUZZ
    @given(case=_with_real_values(operation.as_strategy(), (method, path) in WITHIN))
    def run(case: Any) -> None:
        nonlocal sent
        response = case.call_and_validate(checks=CHECKS, **call)
        sent += 1
        assert response.status_code < 500

    run()
    return sent


def test_every_operation_is_fuzzed() -> None:
    assert ("GET", "/api/v1/territory/grid-cells") in OPERATIONS
    assert len(OPERATIONS) >= 12


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_with_device_token(
    api_schema: Any, token_headers: dict[str, str], method: str, path: str
) -> None:
    assert _fuzz(api_schema, method, path, headers=token_headers) > 0


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_with_admin_session(
    api_schema: Any, admin_session: dict[str, Any], method: str, path: str
) -> None:
    sent = _fuzz(
        api_schema,
        method,
        path,
        headers=admin_session["headers"],
        cookies=admin_session["cookies"],
    )
    assert sent > 0
