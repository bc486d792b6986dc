"""Step: one demo login per role (username = role name), bound to a sensible area."""

from __future__ import annotations

from gridguard.accounts import services as accounts
from gridguard.accounts.roles import Role
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, Login, demo_step
from gridguard.demo.steps.people import phone
from gridguard.territory.models import GridCell, Responsibility, ResponsibilityKind

# role -> key area (see the territory step). Every Role must be here: a test checks it.
ROLE_AREA: dict[str, str] = {
    Role.SYSTEM_ADMIN: "city",
    Role.COMMAND_OPERATOR: "street_1",
    Role.COMMITTEE_WORKER: "committee_1",
    Role.GRID_WORKER: "committee_1",
    Role.GATE_VOLUNTEER: "compound_1",
    Role.BUILDING_SOCIAL_WORKER: "compound_1",
    Role.HEALTH_WORKER: "street_1",
    Role.PHARMACIST: "pharmacy_1",
    Role.HOTLINE_OPERATOR: "district_1",
    Role.DEPARTMENT_HANDLER: "district_1",
    Role.ENTERPRISE_CONTACT: "enterprise_1",
    Role.RESIDENT: "compound_1",
}
# Extra logins beyond one per role: a second street's operator, to compare two streets.
EXTRA_LOGINS: dict[str, tuple[str, str]] = {
    "command_operator_2": (Role.COMMAND_OPERATOR, "street_2"),
    "committee_worker_2": (Role.COMMITTEE_WORKER, "committee_2"),
}


@demo_step(order=400, name="logins")
def logins(ctx: DemoContext) -> None:
    """Create the logins through the accounts service (each one audited)."""
    wanted = [(str(r), (str(r), ROLE_AREA[r])) for r in Role] + list(EXTRA_LOGINS.items())
    for username, (role, key) in wanted:
        area = ctx.key[key]
        user = accounts.create_user(
            SYSTEM,
            username=username,
            password=ctx.password,
            display_name=ctx.fake.name(),
            phone=phone(ctx),
            bindings=[(role, area)],
            validate=False,  # the demo password is documented, not secret
        )
        ctx.users[username] = user
        ctx.logins.append(Login(username, role, area.name, area.code))
    # The demo grid worker works the first cell of their committee; the demo volunteer is the
    # gate chief (门长) of the first gate, so their pages show their own unit.
    cell = GridCell.objects.filter(area=ctx.key["committee_1"]).order_by("code").first()
    if cell is not None:
        cell.workers.add(ctx.users["grid_worker"])
    volunteer = ctx.users["gate_volunteer"]
    Responsibility.objects.filter(
        area=ctx.key["gate_1"], kind=ResponsibilityKind.GATE_CHIEF, until__isnull=True
    ).update(user=volunteer, person_name=volunteer.display_name, phone=volunteer.phone)
    ctx.log(f"logins: {len(ctx.logins)}")
