"""The `/api/v1/` API: each app contributes a router."""

from __future__ import annotations

from ninja import NinjaAPI

from gridguard.core.api import DeviceTokenAuth, StaffSessionAuth, install_error_handlers

api = NinjaAPI(
    title="GridGuard API",
    version="1",
    urls_namespace="api",
    auth=[DeviceTokenAuth(), StaffSessionAuth()],
    docs_url="/docs",
    description=(
        "Epidemic prevention at neighbourhood scale. Authenticate with a device token "
        "(`Authorization: Bearer gg_…`) or a logged-in session. Every list is cursor-paginated; "
        "every error is `{errors: [{field, code, message}]}`."
    ),
)
install_error_handlers(api)

from gridguard.access.api.checkpoints import router as checkpoints_router  # noqa: E402
from gridguard.access.api.gates import router as gates_router  # noqa: E402
from gridguard.access.api.passes import router as passes_router  # noqa: E402
from gridguard.access.api.scanning import router as scanning_router  # noqa: E402
from gridguard.access.api.traceback import router as traceback_router  # noqa: E402
from gridguard.accounts.api import router as accounts_router  # noqa: E402
from gridguard.health.api.codes import router as codes_router  # noqa: E402
from gridguard.health.api.observation import router as observation_router  # noqa: E402
from gridguard.health.api.pharmacy import router as pharmacy_router  # noqa: E402
from gridguard.health.api.registration import followups_router  # noqa: E402
from gridguard.health.api.registration import router as registration_router  # noqa: E402
from gridguard.people.api import router as people_router  # noqa: E402
from gridguard.territory.api import router as territory_router  # noqa: E402
from gridguard.territory.api_exports import router as exports_router  # noqa: E402
from gridguard.tickets.api.intake import router as tickets_router  # noqa: E402

api.add_router("/territory", territory_router)
api.add_router("/accounts", accounts_router)
api.add_router("/territory/export", exports_router)
api.add_router("/people", people_router)
api.add_router("/health/registrations", registration_router)
api.add_router("/health/followups", followups_router)
api.add_router("/health/observation", observation_router)
api.add_router("/health/codes", codes_router)
api.add_router("/health/pharmacy", pharmacy_router)
api.add_router("/access", scanning_router)
api.add_router("/access/passes", passes_router)
api.add_router("/access/gates", gates_router)
api.add_router("/access/checkpoints", checkpoints_router)
api.add_router("/access/tracebacks", traceback_router)
api.add_router("/tickets", tickets_router)
