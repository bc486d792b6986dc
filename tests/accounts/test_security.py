"""Login and API security: hashing, lockout, rate limit, CSRF, session expiry, second factor,
device tokens (revoked, expired, malformed, of another area)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridguard.accounts import services as accounts
from gridguard.accounts.models import ApiToken, User
from gridguard.core import clock
from gridguard.core.models import AuditEntry
from gridguard.core.scoping import SYSTEM
from tests.conftest import PASSWORD, City

LOGIN = "/accounts/login/"
HOME = "/accounts/home/"
ME = "/api/v1/accounts/me"
UNAUTHENTICATED = {
    "errors": [
        {
            "field": None,
            "code": "unauthenticated",
            "message": "Log in, or send a valid device token (Authorization: Bearer …).",
        }
    ]
}


@pytest.fixture(autouse=True)
def _clean_cache(settings: Any) -> Iterator[None]:
    # Rate-limit counters live in the cache: each test starts from zero, in English.
    settings.LANGUAGE_CODE = "en"
    cache.clear()
    yield
    cache.clear()


def _post_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def _logged_in_as(client: Client) -> int | None:
    raw = client.session.get("_auth_user_id")
    return int(raw) if raw is not None else None


def _token_for(device: TOTPDevice) -> str:
    """The six digits an authenticator app would show now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


# --- passwords and login ---------------------------------------------------------------


def test_login_with_right_password_stores_argon2_hash(city: City, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = accounts.create_user(SYSTEM, username="argon_user", password=PASSWORD, validate=False)
    stored = User.objects.get(pk=user.pk).password
    assert stored.startswith("argon2$")
    assert PASSWORD not in stored
    client = Client()
    response = _post_login(client, "argon_user", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    assert _logged_in_as(client) == user.pk
    assert AuditEntry.objects.filter(action="login", actor_id=user.pk).exists()


def test_wrong_password_is_refused_with_a_plain_message(city: City) -> None:
    client = Client()
    response = _post_login(client, "operator_a", "not-the-password")
    assert response.status_code == 200
    assert "Wrong user name or password" in response.content.decode()
    assert _logged_in_as(client) is None


def test_lockout_after_failures_refuses_even_the_right_password(city: City, settings: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    statuses = [_post_login(client, "operator_a", f"wrong-{i}").status_code for i in range(limit)]
    # All but the last attempt show the form again; the last one trips the lock.
    assert statuses[:-1] == [200] * (limit - 1)
    assert statuses[-1] == 429
    response = _post_login(Client(), "operator_a", PASSWORD)
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    assert _logged_in_as(client) is None
    failed = AuditEntry.objects.filter(action="login.failed")
    assert failed.count() >= limit
    assert {e.detail["username"] for e in failed} == {"operator_a"}
    assert not AuditEntry.objects.filter(action="login", actor_id=city.users["operator_a"].pk)
    # The lock is per user name: another user on the same address still logs in.
    other = Client()
    assert _post_login(other, "operator_b", PASSWORD).status_code == 302
    assert _logged_in_as(other) == city.users["operator_b"].pk


def test_login_rate_limit_per_address(city: City, settings: Any) -> None:
    settings.LOGIN_RATE = "3/m"
    client = Client()
    statuses = [
        _post_login(client, f"nobody{i}", "x", REMOTE_ADDR="10.0.0.7").status_code for i in range(3)
    ]
    assert statuses == [200, 200, 200]
    blocked = _post_login(client, "operator_a", PASSWORD, REMOTE_ADDR="10.0.0.7")
    # The project's own page (RATELIMIT_VIEW), not a bare 403.
    assert blocked.status_code == 429
    assert "accounts/rate_limited.html" in [t.name for t in blocked.templates]
    assert _logged_in_as(client) is None
    # Another address is not affected.
    other = Client()
    assert _post_login(other, "operator_a", PASSWORD, REMOTE_ADDR="10.0.0.8").status_code == 302


def test_a_request_without_an_address_is_limited_not_a_server_error(
    city: City, settings: Any
) -> None:
    # Some WSGI servers send no REMOTE_ADDR; such callers share one counter.
    settings.LOGIN_RATE = "2/m"
    client = Client(REMOTE_ADDR="")
    statuses = [_post_login(client, "nobody", "x").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_login_without_csrf_token_is_forbidden(city: City) -> None:
    client = Client(enforce_csrf_checks=True)
    response = _post_login(client, "operator_a", PASSWORD)
    assert response.status_code == 403
    assert _logged_in_as(client) is None


def test_login_with_csrf_token_works_when_enforced(city: City) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies["csrftoken"].value
    response = client.post(
        LOGIN, {"username": "operator_a", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert _logged_in_as(client) == city.users["operator_a"].pk


def test_expired_session_redirects_to_login(city: City) -> None:
    client = Client()
    client.force_login(city.users["operator_a"])
    assert client.get(HOME).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=clock.now() - dt.timedelta(seconds=1)
    )
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert client.get(ME).status_code == 401


def test_logout_is_audited_and_ends_the_session(city: City) -> None:
    client = Client()
    assert _post_login(client, "operator_a", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert _logged_in_as(client) is None
    assert AuditEntry.objects.filter(action="logout", actor_id=city.users["operator_a"].pk)


# --- second factor ---------------------------------------------------------------------


def test_required_totp_forces_setup_for_command_operator(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGUARD_REQUIRE_TOTP", "1")
    user = city.users["operator_a"]
    client = Client()
    assert _post_login(client, "operator_a", PASSWORD).status_code == 302
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_setup")
    # Other pages are closed too, not only the home page.
    assert client.get("/territory/").status_code == 302
    assert client.get(reverse("accounts:otp_setup")).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(reverse("accounts:otp_setup"), {"token": "000000x"})
    assert wrong.status_code == 200
    assert "the code is wrong or expired" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    ok = client.post(reverse("accounts:otp_setup"), {"token": _token_for(device)})
    assert ok.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(HOME).status_code == 200
    assert AuditEntry.objects.filter(action="accounts.otp.enrol", actor_id=user.pk).exists()


def test_required_totp_leaves_field_roles_alone(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGUARD_REQUIRE_TOTP", "1")
    client = Client()
    client.force_login(city.users["committee_a1"])
    assert client.get(HOME).status_code == 200


def test_user_with_device_must_verify_before_pages_and_api(city: City) -> None:
    user = city.users["operator_a"]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert _post_login(client, "operator_a", PASSWORD).status_code == 302
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_verify")
    # The API refuses the half-logged-in session with the one error format.
    api = client.get(ME)
    assert api.status_code == 401
    assert api.json() == UNAUTHENTICATED
    verify = reverse("accounts:otp_verify")
    bad = client.post(verify, {"otp_device": device.persistent_id, "otp_token": "123456"})
    assert bad.status_code == 200
    assert client.get(HOME).status_code == 302
    # A wrong code is counted: the device throttles the next tries (exponential delay).
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    code = _token_for(device)
    throttled = client.post(verify, {"otp_device": device.persistent_id, "otp_token": code})
    assert throttled.status_code == 200
    assert client.get(HOME).status_code == 302
    device.throttle_reset()
    good = client.post(verify, {"otp_device": device.persistent_id, "otp_token": code})
    assert good.status_code == 302
    assert good["Location"] == reverse("accounts:home")
    assert client.get(HOME).status_code == 200
    me = client.get(ME)
    assert me.status_code == 200
    assert me.json()["label"] == "operator_a"


def test_verify_page_posts_the_users_device(city: City) -> None:
    """What a browser sends (the page's hidden device field and the code) verifies the user."""
    user = city.users["operator_a"]
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    assert _post_login(client, "operator_a", PASSWORD).status_code == 302
    page = client.get(reverse("accounts:otp_verify")).content.decode()
    found = re.search(r'name="otp_device" value="([^"]*)"', page)
    assert found is not None
    assert found.group(1) == device.persistent_id
    response = client.post(
        reverse("accounts:otp_verify"),
        {"otp_device": found.group(1), "otp_token": _token_for(device)},
    )
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200


def test_api_session_post_needs_csrf(city: City) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(city.users["admin"])
    response = client.post(
        "/api/v1/accounts/tokens",
        {"name": "x", "purpose": "camera", "area_code": "3101"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"
    assert not ApiToken.objects.exists()


# --- device tokens ---------------------------------------------------------------------


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _issue(city: City, area: str = "street_a", **kw: Any) -> tuple[ApiToken, str]:
    return accounts.issue_token(
        city.users["admin"], name="scanner", purpose="integration", area=city[area], **kw
    )


def test_token_expiry_in_any_offset_or_none_is_kept_as_the_same_instant(city: City) -> None:
    client = Client()
    client.force_login(city.users["admin"])
    for expiry, instant in (
        # ISO 8601 allows offsets PostgreSQL cannot store: the instant is kept in UTC.
        ("4950-11-07T14:33:00-23:59", dt.datetime(4950, 11, 8, 14, 32, tzinfo=dt.UTC)),
        # Naive means Shanghai time.
        ("2099-01-01T08:00:00", dt.datetime(2099, 1, 1, 0, 0, tzinfo=dt.UTC)),
    ):
        response = client.post(
            "/api/v1/accounts/tokens",
            {"name": "x", "purpose": "camera", "area_code": "3101", "expires_at": expiry},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        token = ApiToken.objects.get(key_id=response.json()["key_id"])
        assert token.expires_at == instant


def test_valid_token_reads_its_area(city: City) -> None:
    token, secret = _issue(city)
    response = Client().get(ME, **_bearer(secret))
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "token"
    assert body["scope"] == [city["street_a"].path]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(city: City) -> None:
    token, secret = _issue(city)
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    accounts.revoke_token(city.users["admin"], token)
    response = Client().get(ME, **_bearer(secret))
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert AuditEntry.objects.filter(action="accounts.token.revoke").count() == 1


def test_expired_token_is_refused(city: City) -> None:
    _token, secret = _issue(city, expires_at=clock.now() + dt.timedelta(hours=1))
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    with clock.frozen(clock.now() + dt.timedelta(hours=2)):
        response = Client().get(ME, **_bearer(secret))
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_token_cannot_be_issued_already_expired(city: City) -> None:
    from gridguard.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        _issue(city, expires_at=clock.now() - dt.timedelta(minutes=1))
    assert [e.field for e in exc.value.errors] == ["expires_at"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Bearer gg_",
        "Bearer gg_onlykeyid",
        "Bearer gg__secret",
        "Token gg_abc_def",
        "Bearer ",
    ],
)
def test_malformed_token_is_refused(city: City, header: str) -> None:
    response = Client().get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_right_key_id_wrong_secret_is_refused(city: City) -> None:
    token, secret = _issue(city)
    forged = f"gg_{token.key_id}_{'A' * 43}"
    assert forged != secret
    response = Client().get(ME, **_bearer(forged))
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_no_credentials_at_all_is_401(city: City) -> None:
    response = Client().get("/api/v1/territory/areas")
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


def test_token_of_another_area_gets_404(city: City) -> None:
    _token, secret = _issue(city, area="street_b")
    response = Client().get(f"/api/v1/territory/areas/{city['street_a'].code}", **_bearer(secret))
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"field": None, "code": "not_found", "message": "This is outside your area."}]
    }
    own = Client().get(f"/api/v1/territory/areas/{city['street_b'].code}", **_bearer(secret))
    assert own.status_code == 200
    assert own.json()["code"] == city["street_b"].code


def test_token_without_permission_gets_403(city: City) -> None:
    # A camera token may read territory, but not the responsible persons.
    _token, secret = accounts.issue_token(
        city.users["admin"], name="cam", purpose="camera", area=city["street_a"]
    )
    response = Client().get("/api/v1/territory/responsible", **_bearer(secret))
    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            {
                "field": None,
                "code": "forbidden",
                "message": "Your role does not allow this.",
            }
        ]
    }


def test_token_cannot_manage_tokens(city: City) -> None:
    _token, secret = _issue(city)
    response = Client().post(
        "/api/v1/accounts/tokens",
        {"name": "x", "purpose": "camera", "area_code": city["street_a"].code},
        content_type="application/json",
        **_bearer(secret),
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"
    assert ApiToken.objects.count() == 1


def test_a_revocation_in_another_process_takes_effect_within_the_cache_time(
    city: City, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Each server process trusts a checked token row for TOKEN_CACHE_SECONDS (decision 0006):
    a revocation written by another process (here: straight to the table) stops the token
    once that time has passed, and not before."""
    settings.TOKEN_CACHE_SECONDS = 5
    token, secret = _issue(city)
    now = [1000.0]
    monkeypatch.setattr(accounts.time, "monotonic", lambda: now[0])
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now())
    now[0] += 4.0
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    now[0] += 1.5
    assert Client().get(ME, **_bearer(secret)).status_code == 401


def test_without_a_cache_time_every_request_reads_the_token(city: City, settings: Any) -> None:
    settings.TOKEN_CACHE_SECONDS = 0
    token, secret = _issue(city)
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=clock.now())
    assert Client().get(ME, **_bearer(secret)).status_code == 401


def test_a_cached_token_still_checks_the_secret(city: City) -> None:
    _token, secret = _issue(city)
    assert Client().get(ME, **_bearer(secret)).status_code == 200
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert Client().get(ME, **_bearer(wrong)).status_code == 401
