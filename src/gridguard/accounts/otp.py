"""TOTP enrolment: show a QR for an authenticator app, confirm with one code."""

from __future__ import annotations

from typing import Any

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from gridguard.core import audit


def setup_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    error = ""
    if request.method == "POST":
        code = request.POST.get("token", "").strip()
        if code.isdigit() and device.verify_token(code):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit.record(user, "accounts.otp.enrol", user)
            return redirect("accounts:home")
        error = _("token: the code is wrong or expired; enter the six digits shown now.")
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(request, "accounts/otp_setup.html", {"qr": qr, "error": error})
