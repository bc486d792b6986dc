"""Template context: the user's roles, what they may open, and whether to use the phone layout."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from gridguard.accounts.roles import FIELD_ROLES

# Links in the header and on the home page, by the permission that opens them.
_LINK_PERMISSIONS = {
    "territory": "territory.view",
    "plan": "duty.plan",
    "hours": "duty.view",
    "clock": "duty.clock",
    "audit": "audit.view",
    "travellers": "travellers.view",
    "followups": "followups.view",
    "people": "people.view",
    "observation": "observation.view",
    "pharmacy": "pharmacy.record",
    "pharmacy_view": "pharmacy.view",
    "code_rules": "healthcode.rules",
    "passes": "passes.view",
    "passes_issue": "passes.issue",
    "gate": "gate.scan",
    "gate_records": "gate.view",
    "checkpoints": "checkpoint.view",
    "traceback": "traceback.run",
    "tickets": "tickets.view",
    "tickets_triage": "tickets.triage",
    "tickets_handle": "tickets.handle",
}


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"gg_roles": set(), "gg_field_user": False, "gg_can": {}}
    held = user.roles()
    can = {name: user.can(perm) for name, perm in _LINK_PERMISSIONS.items()}
    can["admin"] = bool(user.is_staff and user.is_active)
    # Residents' own pages (code, observation, masks) are theirs by the person record.
    can["resident"] = "resident" in held
    return {
        "gg_roles": held,
        "gg_field_user": bool(held) and held <= {str(r) for r in FIELD_ROLES},
        "gg_can": can,
    }
