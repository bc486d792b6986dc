"""`gridguard token …` and `gridguard user …` as an operator runs them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from gridguard.accounts import services
from gridguard.accounts.models import ApiToken, RoleBinding, User
from gridguard.core.models import AuditEntry
from tests.conftest import PASSWORD, City

NEW_PASSWORD = "Sturdy-Gate-Keeper-2026"
TOKEN_RE = re.compile(r"^gg_[0-9a-f]+_\S+$", re.M)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    # Assertions read the English message ids; rate-limit counters start from zero.
    settings.LANGUAGE_CODE = "en"
    cache.clear()
    with translation.override("en"):
        yield
    cache.clear()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def issue(city: City, *extra: str) -> tuple[str, ApiToken]:
    out = run(
        "token",
        "issue",
        "--area",
        city["gate_a1"].code,
        "--purpose",
        "gate_scanner",
        "--name",
        "A1 north gate #1",
        *extra,
    )
    raw = TOKEN_RE.search(out)
    assert raw is not None, out
    return out, ApiToken.objects.get(key_id=raw.group(0).split("_")[1])


# --- tokens -----------------------------------------------------------------------------


def test_issued_token_authenticates_and_is_shown_once(city: City) -> None:
    out, token = issue(city)
    raw = TOKEN_RE.search(out)
    assert raw is not None
    found = services.authenticate_token(raw.group(0))
    assert found is not None and found.pk == token.pk
    assert token.area == city["gate_a1"] and token.purpose == "gate_scanner"
    assert token.expires_at is None
    assert "only time it is shown" in out
    # The secret is not stored, only its hash.
    assert raw.group(0).split("_", 2)[2] not in token.secret_hash
    assert AuditEntry.objects.filter(action="accounts.token.issue", object_id=str(token.pk))


def test_issue_with_days_sets_the_expiry(city: City) -> None:
    _out, token = issue(city, "--days", "7")
    assert token.expires_at is not None
    assert 6.9 < (token.expires_at - token.created_at).total_seconds() / 86400 <= 7


def test_list_never_prints_secrets(city: City) -> None:
    out, token = issue(city)
    raw = TOKEN_RE.search(out)
    assert raw is not None
    secret = raw.group(0).split("_", 2)[2]
    listing = run("token", "list")
    assert token.key_id in listing and "A1 north gate #1" in listing and "active" in listing
    assert secret not in listing and token.secret_hash not in listing
    assert not TOKEN_RE.search(listing)


def test_list_by_area_keeps_to_the_subtree(city: City) -> None:
    _out, token = issue(city)
    assert token.key_id in run("token", "list", "--area", city["street_a"].code)
    assert token.key_id not in run("token", "list", "--area", city["street_b"].code)


def test_revoke_stops_the_token(city: City) -> None:
    out, token = issue(city)
    raw = TOKEN_RE.search(out)
    assert raw is not None
    assert "revoked token" in run("token", "revoke", token.key_id)
    assert services.authenticate_token(raw.group(0)) is None
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in run("token", "list")
    # Revoking again changes nothing and says so.
    before = AuditEntry.objects.count()
    assert "already revoked" in run("token", "revoke", token.key_id)
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--area", "999999", "--purpose", "gate_scanner", "--name", "x"], "--area"),
        (["--area", "310101001", "--purpose", "toaster", "--name", "x"], "--purpose"),
        (["--area", "310101001", "--purpose", "camera", "--name", "  "], "--name"),
        (["--area", "310101001", "--purpose", "camera", "--name", "x", "--days", "0"], "--days"),
        (["--area", "310101001", "--purpose", "camera", "--name", "x", "--days", "-3"], "--days"),
        (["--area", "310101001", "--purpose", "camera", "--name", "x", "--days", "ten"], "--days"),
    ],
)
def test_bad_issue_input_names_the_option_and_writes_nothing(
    city: City, args: list[str], option: str
) -> None:
    audit_before = AuditEntry.objects.count()
    with pytest.raises(CommandError, match=re.escape(option)):
        run("token", "issue", *args)
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_revoke_of_unknown_key_id_fails(city: City) -> None:
    _out, token = issue(city)
    with pytest.raises(CommandError, match="KEY_ID"):
        run("token", "revoke", "nosuchkey")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_list_with_unknown_area_fails(city: City) -> None:
    with pytest.raises(CommandError, match="--area"):
        run("token", "list", "--area", "999999")


# --- users ------------------------------------------------------------------------------


def test_create_user_from_env_password(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGUARD_NEW_PASSWORD", NEW_PASSWORD)
    out = run(
        "user",
        "create",
        "gate_wang",
        "--role",
        "gate_volunteer",
        "--area",
        city["compound_a1"].code,
        "--display-name",
        "王师傅",
        "--phone",
        "13800138000",
    )
    assert "created user gate_wang" in out
    assert NEW_PASSWORD not in out
    user = User.objects.get(username="gate_wang")
    assert user.check_password(NEW_PASSWORD)
    assert (user.display_name, user.phone) == ("王师傅", "13800138000")
    assert user.roles() == {"gate_volunteer"}
    assert user.scope_paths() == (city["compound_a1"].path,)
    assert AuditEntry.objects.filter(action="accounts.user.create", object_id=str(user.pk))


def test_create_user_prompts_twice(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDGUARD_NEW_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    run("user", "create", "prompted", "--role", "grid_worker", "--area", city["street_a"].code)
    assert User.objects.get(username="prompted").check_password(NEW_PASSWORD)


def test_create_user_refuses_differing_passwords(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGUARD_NEW_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter([NEW_PASSWORD, NEW_PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="password"):
        run("user", "create", "typo", "--role", "grid_worker", "--area", city["street_a"].code)
    assert not User.objects.filter(username="typo").exists()


def test_create_user_without_password_source_fails(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGUARD_NEW_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="GRIDGUARD_NEW_PASSWORD"):
        run("user", "create", "nopw", "--role", "grid_worker", "--area", city["street_a"].code)
    assert not User.objects.filter(username="nopw").exists()


@pytest.mark.parametrize(
    ("username", "role", "area", "password", "option"),
    [
        ("newbie", "wizard", "310101001", NEW_PASSWORD, "--role"),
        ("newbie", "grid_worker", "999999", NEW_PASSWORD, "--area"),
        ("operator_a", "grid_worker", "310101001", NEW_PASSWORD, "USERNAME"),
        ("newbie", "grid_worker", "310101001", "123", "GRIDGUARD_NEW_PASSWORD"),
    ],
)
def test_bad_create_input_names_the_option_and_writes_nothing(
    city: City,
    monkeypatch: pytest.MonkeyPatch,
    username: str,
    role: str,
    area: str,
    password: str,
    option: str,
) -> None:
    monkeypatch.setenv("GRIDGUARD_NEW_PASSWORD", password)
    users, bindings, entries = (
        User.objects.count(),
        RoleBinding.objects.count(),
        AuditEntry.objects.count(),
    )
    with pytest.raises(CommandError, match=re.escape(option)):
        run("user", "create", username, "--role", role, "--area", area)
    assert (User.objects.count(), RoleBinding.objects.count(), AuditEntry.objects.count()) == (
        users,
        bindings,
        entries,
    )


def test_bind_adds_a_role(city: City) -> None:
    user = city.users["volunteer_a1"]
    out = run("user", "bind", "volunteer_a1", "--role", "grid_worker", "--area", "310101001")
    assert "volunteer_a1 is now grid_worker" in out
    user.forget_bindings()
    assert user.roles() == {"gate_volunteer", "grid_worker"}
    assert AuditEntry.objects.filter(action="accounts.role.bind", detail__user=user.pk).count() == 2


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["nobody", "--role", "grid_worker", "--area", "310101001"], "USERNAME"),
        (["volunteer_a1", "--role", "wizard", "--area", "310101001"], "--role"),
        (["volunteer_a1", "--role", "grid_worker", "--area", "999999"], "--area"),
    ],
)
def test_bad_bind_input_names_the_option(city: City, args: list[str], option: str) -> None:
    bindings = RoleBinding.objects.count()
    with pytest.raises(CommandError, match=re.escape(option)):
        run("user", "bind", *args)
    assert RoleBinding.objects.count() == bindings


def test_list_shows_users_and_roles_but_no_phone(city: City) -> None:
    User.objects.filter(username="operator_a").update(phone="13900139000")
    out = run("user", "list")
    assert "operator_a" in out and "command_operator@310101001" in out
    assert "operator_b" in out
    assert "13900139000" not in out
    street_a = run("user", "list", "--area", "310101001")
    assert "operator_a" in street_a and "committee_a1" in street_a
    assert "operator_b" not in street_a and "committee_b1" not in street_a
    # The city-wide admin is bound above street A, not inside it.
    assert "admin " not in street_a


def test_unlock_ends_a_lockout(city: City, settings: Any) -> None:
    settings.LOGIN_RATE = "1000/m"
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"username": "operator_a", "password": f"bad-{i}"})
    login = {"username": "operator_a", "password": PASSWORD}
    assert Client().post("/accounts/login/", login).status_code == 429
    out = run("user", "unlock", "operator_a")
    assert "unlocked operator_a" in out
    assert not AccessAttempt.objects.filter(username="operator_a").exists()
    entry = AuditEntry.objects.get(action="accounts.user.unlock")
    assert entry.object_id == str(city.users["operator_a"].pk) and entry.detail["attempts"] >= 1
    assert Client().post("/accounts/login/", login).status_code == 302


def test_unlock_unknown_user_fails(city: City) -> None:
    with pytest.raises(CommandError, match="USERNAME"):
        run("user", "unlock", "nobody")
    assert not AuditEntry.objects.filter(action="accounts.user.unlock").exists()


def test_deactivate_stops_login_and_scope(city: City) -> None:
    out = run("user", "deactivate", "operator_a")
    assert "deactivated operator_a" in out
    user = User.objects.get(username="operator_a")
    assert not user.is_active
    assert user.scope_paths() == ()
    assert RoleBinding.objects.filter(user=user).exists()  # history stays
    assert AuditEntry.objects.filter(action="accounts.user.deactivate", object_id=str(user.pk))
    response = Client().post("/accounts/login/", {"username": "operator_a", "password": PASSWORD})
    assert response.status_code != 302
    assert "inactive" in run("user", "list")
    assert "already inactive" in run("user", "deactivate", "operator_a")


def test_deactivate_unknown_user_fails(city: City) -> None:
    with pytest.raises(CommandError, match="USERNAME"):
        run("user", "deactivate", "nobody")


def test_deactivate_service_checks_the_actor_scope(city: City) -> None:
    from gridguard.core.errors import NotPermitted, OutOfScope

    with pytest.raises((NotPermitted, OutOfScope)):
        services.deactivate_user(city.users["operator_a"], city.users["admin"])
    services.deactivate_user(city.users["admin"], city.users["operator_a"])
    assert not User.objects.get(username="operator_a").is_active
    assert User.objects.get(username="admin").is_active
