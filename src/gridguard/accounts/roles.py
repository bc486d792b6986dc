"""Roles (the users of MISSION.md) and what each may do. Roles are bound to areas."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMAND_OPERATOR = "command_operator", _("Command-centre operator")
    COMMITTEE_WORKER = "committee_worker", _("Committee worker")
    GRID_WORKER = "grid_worker", _("Grid worker")
    GATE_VOLUNTEER = "gate_volunteer", _("Gate volunteer")
    BUILDING_SOCIAL_WORKER = "building_social_worker", _("Building social worker")
    HEALTH_WORKER = "health_worker", _("Health-centre worker")
    PHARMACIST = "pharmacist", _("Pharmacist")
    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    ENTERPRISE_CONTACT = "enterprise_contact", _("Enterprise contact")
    RESIDENT = "resident", _("Resident / traveller")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


R = Role
STAFF: set[Role] = set(Role) - {R.RESIDENT, R.ENTERPRISE_CONTACT}
FIELD_ROLES = {R.GRID_WORKER, R.GATE_VOLUNTEER, R.BUILDING_SOCIAL_WORKER, R.COMMITTEE_WORKER}
# Roles whose binding to an area opens that area's records. A resident or an enterprise
# contact is bound to the place they live or work, but sees only their own records.
SCOPING_ROLES = STAFF
# Roles that may (or, with GRIDGUARD_REQUIRE_TOTP=1, must) use a second factor.
SECOND_FACTOR_ROLES = {R.COMMAND_OPERATOR, R.SYSTEM_ADMIN}

PERMISSIONS: dict[str, set[Role]] = {
    "territory.view": STAFF,
    "territory.edit": {R.SYSTEM_ADMIN},
    "territory.import": {R.SYSTEM_ADMIN},
    "territory.export": {R.SYSTEM_ADMIN, R.COMMAND_OPERATOR, R.COMMITTEE_WORKER},
    "responsibility.view": STAFF,
    "responsibility.edit": {R.SYSTEM_ADMIN, R.COMMAND_OPERATOR, R.COMMITTEE_WORKER},
    "duty.view": STAFF,
    "duty.plan": {R.SYSTEM_ADMIN, R.COMMAND_OPERATOR, R.COMMITTEE_WORKER},
    "duty.clock": {
        R.GATE_VOLUNTEER,
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.COMMAND_OPERATOR,
    },
    "personal.reveal_phone": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
    },
    "personal.reveal_id_number": {R.COMMITTEE_WORKER, R.HEALTH_WORKER},
    # People (P1)
    "people.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "people.edit": {R.COMMITTEE_WORKER, R.HEALTH_WORKER, R.SYSTEM_ADMIN},
    "people.merge": {R.COMMITTEE_WORKER, R.SYSTEM_ADMIN},
    # Traveller registration (P2) and follow-up tasks
    "travellers.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "travellers.register": {
        R.GATE_VOLUNTEER,
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "travellers.assign": {R.COMMITTEE_WORKER, R.COMMAND_OPERATOR, R.SYSTEM_ADMIN},
    "health.key_regions": {R.SYSTEM_ADMIN, R.COMMAND_OPERATOR},
    "followups.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "followups.close": {R.COMMITTEE_WORKER, R.GRID_WORKER, R.HEALTH_WORKER},
    # Home observation (P3)
    "observation.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "observation.manage": {R.HEALTH_WORKER, R.COMMITTEE_WORKER},
    "observation.checkin": {
        R.HEALTH_WORKER,
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
    },
    "observation.alerts": {R.HEALTH_WORKER, R.COMMITTEE_WORKER, R.COMMAND_OPERATOR},
    "errands.manage": {R.COMMITTEE_WORKER, R.GRID_WORKER, R.BUILDING_SOCIAL_WORKER},
    "errands.run": {
        R.GATE_VOLUNTEER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.COMMITTEE_WORKER,
    },
    # Health codes (P4)
    "healthcode.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.BUILDING_SOCIAL_WORKER,
        R.HEALTH_WORKER,
        R.GATE_VOLUNTEER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "healthcode.rules": {R.SYSTEM_ADMIN},
    # Pharmacies (P5, P6)
    "pharmacy.record": {R.PHARMACIST},
    "pharmacy.view": {
        R.PHARMACIST,
        R.COMMITTEE_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "masks.manage": {R.PHARMACIST, R.COMMAND_OPERATOR, R.SYSTEM_ADMIN},
    "masks.pickup": {R.PHARMACIST},
    "passes.view": {
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "passes.issue": {R.COMMITTEE_WORKER},
    "passes.keys": {R.SYSTEM_ADMIN},
    "passes.request": {R.RESIDENT},
    "gate.scan": {R.GATE_VOLUNTEER, R.COMMITTEE_WORKER, R.GRID_WORKER},
    "gate.view": {
        R.GATE_VOLUNTEER,
        R.COMMITTEE_WORKER,
        R.GRID_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    # Checkpoints (A3): volunteers and officials on duty record; the street and the centre read.
    "checkpoint.record": {R.GATE_VOLUNTEER, R.GRID_WORKER, R.COMMITTEE_WORKER},
    "checkpoint.view": {
        R.GATE_VOLUNTEER,
        R.GRID_WORKER,
        R.COMMITTEE_WORKER,
        R.HEALTH_WORKER,
        R.COMMAND_OPERATOR,
        R.SYSTEM_ADMIN,
    },
    "checkpoint.manage": {R.COMMAND_OPERATOR, R.SYSTEM_ADMIN},
    # Trace-back (A4): who was near a case; always with a reason, always audited.
    "traceback.run": {R.HEALTH_WORKER, R.COMMAND_OPERATOR, R.COMMITTEE_WORKER},
    # Citizen tickets (C1-C3): hotline operators take tickets in and triage them; departments
    # answer what is dispatched to them; the command centre oversees and reports.
    "tickets.intake": {R.HOTLINE_OPERATOR, R.COMMAND_OPERATOR},
    "tickets.import": {R.HOTLINE_OPERATOR, R.SYSTEM_ADMIN},
    "tickets.view": {
        R.HOTLINE_OPERATOR,
        R.COMMAND_OPERATOR,
        R.DEPARTMENT_HANDLER,
        R.COMMITTEE_WORKER,
        R.SYSTEM_ADMIN,
    },
    "tickets.triage": {R.HOTLINE_OPERATOR, R.COMMAND_OPERATOR},
    "tickets.handle": {R.DEPARTMENT_HANDLER, R.COMMITTEE_WORKER},
    "tickets.report": {R.COMMAND_OPERATOR, R.HOTLINE_OPERATOR, R.SYSTEM_ADMIN},
    "tickets.departments": {R.COMMAND_OPERATOR, R.SYSTEM_ADMIN},
    "notices.publish": {R.COMMAND_OPERATOR, R.COMMITTEE_WORKER},
    "audit.view": {R.SYSTEM_ADMIN},
    "accounts.manage": {R.SYSTEM_ADMIN},
    "tokens.manage": {R.SYSTEM_ADMIN},
}


def roles_with(permission: str) -> set[str]:
    """The roles that grant `permission` (unknown permissions grant nothing)."""
    return {str(r) for r in PERMISSIONS.get(permission, set())}
