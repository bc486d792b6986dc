"""`facts_changed`: sent (inside the writing transaction) whenever something that decides a
person's health code changes: a registration, an observation starting or ending, a check-in,
an alert, a flag, a purchase. The health-code engine listens and recomputes at once, so the
apps that record facts need not know how codes are computed.

    facts_changed.send(sender=Model, person_ids=[...])
"""

from __future__ import annotations

from django.dispatch import Signal

facts_changed = Signal()


def announce(sender: type, *person_ids: int) -> None:
    """Tell the listeners that the facts about these persons changed."""
    ids = sorted({p for p in person_ids if p is not None})
    if ids:
        facts_changed.send(sender=sender, person_ids=ids)
