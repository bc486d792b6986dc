"""Second factor: a user with a TOTP device must pass it before any page but the check."""

from __future__ import annotations

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp import user_has_device

from gridguard.accounts.roles import SECOND_FACTOR_ROLES

_OPEN_PREFIXES = ("/accounts/login", "/accounts/logout", "/accounts/otp", "/static/", "/i18n/")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        path = request.path
        if (
            user is not None
            and user.is_authenticated
            and not path.startswith(_OPEN_PREFIXES)
            and not path.startswith("/api/")
        ):
            if user_has_device(user):
                if not user.is_verified():
                    return redirect("accounts:otp_verify")
            elif os.environ.get("GRIDGUARD_REQUIRE_TOTP") == "1" and (
                user.roles() & {str(r) for r in SECOND_FACTOR_ROLES}
            ):
                return redirect("accounts:otp_setup")
        return self.get_response(request)
