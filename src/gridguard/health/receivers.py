"""Signal receivers of the health app (connected in HealthConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from gridguard.people.signals import facts_changed


@receiver(facts_changed, dispatch_uid="health.recompute_codes")
def recompute_codes(sender: type, person_ids: list[int], **kwargs: Any) -> None:
    """A person's facts changed: recompute their health code once the write is committed."""
    from gridguard.health.services.codes import recompute

    ids = list(person_ids)
    transaction.on_commit(lambda: recompute(ids))
