"""Login (rate-limited, locked out after repeated failures), second factor, the role home page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.forms import OTPTokenForm
from django_ratelimit.decorators import ratelimit

from gridguard.core import clock
from gridguard.core.middleware import client_address
from gridguard.territory import selectors as territory


class LoginForm(AuthenticationForm):
    """The login form, with an error that says plainly what to check."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy(
            "Wrong user name or password. Check both and try again (capital letters count)."
        ),
    }


@method_decorator(
    ratelimit(key=client_address, rate=lambda g, r: settings.LOGIN_RATE, method="POST", block=True),
    name="dispatch",
)
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


def rate_limited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Too many requests from this address: say so plainly, in the user's language."""
    return render(request, "accounts/rate_limited.html", status=429)


@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step for users with a TOTP device."""
    form = OTPTokenForm(request.user, request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        otp_login(request, form.get_user().otp_device)
        return redirect("accounts:home")
    # One authenticator per user: the form posts it, the person types only the code.
    device = next(devices_for_user(request.user, confirmed=True), None)
    device_id = device.persistent_id if device is not None else ""
    return render(request, "accounts/otp_verify.html", {"form": form, "device_id": device_id})


@login_required
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP device (command-centre and admin roles)."""
    from gridguard.accounts import otp

    return otp.setup_view(request)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The role home page: the user's areas, what lies in them, today's shifts, where to go."""
    from gridguard.territory.views import kind_counts

    user: Any = request.user
    roots = territory.root_areas_for(user) if user.can("territory.view") else []
    counts = kind_counts(territory.counts_by_kind(user)) if roots else []
    shifts = list(territory.shifts_of_user_on(user, clock.today()))
    context = {
        "roots": roots,
        "counts": counts,
        "shifts": shifts,
        "now": clock.now(),
        "bindings": user.bindings(),
        "title": _("Home"),
    }
    return render(request, "accounts/home.html", context)
