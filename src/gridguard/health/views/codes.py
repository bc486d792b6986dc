"""Health-code pages: a resident's own code (phone), a person's code for staff, the rules."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gridguard.core import audit, clock, masking
from gridguard.core.errors import InvalidInput, NotPermitted, OutOfScope
from gridguard.health import code_facts
from gridguard.health.models import Colour, HealthCode
from gridguard.health.selectors import codes as selectors
from gridguard.health.services import codes as services

PAGE_SIZE = 20


def _reasons(code: HealthCode | Any) -> list[dict[str, Any]]:
    """The reasons in the reader's language (Chinese text, or the English one when set)."""
    chinese = (get_language() or "zh").startswith("zh")
    out = []
    for r in code.reasons or []:
        text = r.get("reason") if chinese else (r.get("reason_en") or r.get("reason"))
        until = r.get("until")
        out.append(
            {
                "rule": r.get("rule"),
                "colour": r.get("colour", ""),
                "text": text,
                "until": clock.local(_parse(until)) if until else None,
            }
        )
    return out


def _parse(value: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value)


@login_required
def my_code(request: HttpRequest) -> HttpResponse:
    """The resident's own code on their phone: the colour, why, until when, and its history."""
    user: Any = request.user
    found = selectors.own_code(user)
    if found is None:
        return render(
            request, "health/codes/me.html", {"person": None, "title": _("My health code")}
        )
    person, code = found
    audit.record_read(user, person, fields=["health_code"])
    changes = list(selectors.own_history(person)[:PAGE_SIZE])
    return render(
        request,
        "health/codes/me.html",
        {
            "person": person,
            "masked_name": masking.mask_name(person.name),
            "code": code,
            "reasons": _reasons(code),
            "valid_until": clock.local(code.expires_at),
            "changes": changes,
            "title": _("My health code"),
        },
    )


@login_required
def person_code(request: HttpRequest, person_id: int) -> HttpResponse:
    """A person's code for staff who may read codes in the person's area (audited)."""
    user: Any = request.user
    if not user.can("healthcode.view"):
        raise PermissionDenied
    try:
        person, code = selectors.code_by_person_id(user, person_id)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    audit.record_read(user, person, fields=["health_code", "name", "id_number"])
    page = Paginator(selectors.history(user, person), PAGE_SIZE).get_page(request.GET.get("page"))
    name = person.name if user.can("people.view") else masking.mask_name(person.name)
    return render(
        request,
        "health/codes/person.html",
        {
            "person": person,
            "name": name,
            "id_number": masking.id_number_for(user, person.id_number),
            "code": code,
            "reasons": _reasons(code),
            "valid_until": clock.local(code.expires_at),
            "page": page,
            "title": _("Health code"),
        },
    )


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    """The rules, in priority order (system administrators)."""
    user: Any = request.user
    if not user.can("healthcode.rules"):
        raise PermissionDenied
    return render(
        request,
        "health/codes/rules.html",
        {"rules": list(selectors.rules(user)), "title": _("Health-code rules")},
    )


def _form_values(post: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The edit form's values as the service wants them, and errors of form shape."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "condition": post.get("condition", ""),
        "colour": post.get("colour", ""),
        "reason": post.get("reason", ""),
        "reason_en": post.get("reason_en", ""),
        "active": post.get("active") == "on",
    }
    raw = post.get("params", "").strip() or "{}"
    try:
        values["params"] = json.loads(raw)
    except ValueError:
        errors.setdefault("params", []).append(_("Enter the parameters as a JSON object."))
    for name in ("priority", "valid_hours"):
        text = post.get(name, "").strip()
        try:
            values[name] = int(text)
        except ValueError:
            errors.setdefault(name, []).append(_("Enter a whole number."))
    return values, errors


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Edit one rule; the field errors show beside the fields. Saving recomputes every code."""
    user: Any = request.user
    if not user.can("healthcode.rules"):
        raise PermissionDenied
    try:
        rule = selectors.rule_by_code(user, code)
    except OutOfScope as exc:
        raise Http404(str(exc)) from exc
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        **{name: getattr(rule, name) for name in services.RULE_FIELDS},
        "params": json.dumps(rule.params, ensure_ascii=False),
    }
    if request.method == "POST":
        cleaned, errors = _form_values(request.POST)
        values = {**dict(request.POST.items()), "active": cleaned["active"]}
        if not errors:
            try:
                services.update_rule(user, rule, **cleaned)
            except InvalidInput as exc:
                for e in exc.errors:
                    errors.setdefault(e.field or "form", []).append(e.message)
            except NotPermitted as exc:
                raise PermissionDenied from exc
            else:
                messages.success(
                    request,
                    _(
                        "Rule saved. Every health code is being recomputed now (about 20 "
                        "seconds per million persons)."
                    ),
                )
                return redirect("codes:rules")
    return render(
        request,
        "health/codes/rule_edit.html",
        {
            "rule": rule,
            "values": values,
            "errors": errors,
            "conditions": sorted(code_facts.CONDITIONS),
            "colours": Colour.choices,
            "title": _("Edit rule"),
        },
        status=400 if errors else 200,
    )
