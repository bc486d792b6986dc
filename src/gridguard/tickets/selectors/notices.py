"""Reads of notices and answers to common questions (C3).

Notices and answers are public information: a resident's page shows those published to the
place or to any area above it. The staff list is scoped to the actor's territory.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from gridguard.core import clock
from gridguard.core.errors import NotPermitted
from gridguard.territory.models import Area
from gridguard.tickets import taxonomy
from gridguard.tickets.models import Answer, Notice

STAFF = ("notices.publish", "tickets.view")
MAX_SHOWN = 200


def public_place(code: str) -> Area | None:
    """The active area with this code, for the residents' page (None when there is none)."""
    return Area.objects.filter(code=str(code or "")[:40], active=True).first()


def notices_for_place(place: Area) -> list[Notice]:
    """Current notices for a place: published to it or to any area above it, already
    published, not past their end and not withdrawn; newest first."""
    now = clock.now()
    return list(
        Notice.objects.filter(
            area__path__in=Area.paths_above(place.path),
            published_at__lte=now,
            withdrawn_at__isnull=True,
        )
        .filter(Q(until__isnull=True) | Q(until__gt=now))
        .select_related("area")
        .order_by("-published_at", "-pk")[:MAX_SHOWN]
    )


def answers_for_place(place: Area) -> list[Answer]:
    """Answers for a place (published to it or above it, not withdrawn), newest first."""
    return list(
        Answer.objects.filter(
            area__path__in=Area.paths_above(place.path),
            published_at__lte=clock.now(),
            withdrawn_at__isnull=True,
        )
        .select_related("area")
        .order_by("-published_at", "-pk")[:MAX_SHOWN]
    )


def answers_by_subclass(place: Area) -> list[dict[str, Any]]:
    """A place's answers grouped by the subclass they answer, in taxonomy order:
    [{"code", "label", "answers": [...]}]. An answer linked to two subclasses is in both."""
    groups: dict[str, list[Answer]] = {}
    for answer in answers_for_place(place):
        for code in answer.subclasses or []:
            groups.setdefault(str(code), []).append(answer)
    out = []
    for code, sub in taxonomy.subclasses().items():
        if code in groups:
            out.append({"code": code, "label": sub.label(), "answers": groups[code]})
    return out


def answers_for_subclass(place: Area, code: str) -> list[Answer]:
    """The answers an operator replying to a ticket of subclass `code` at `place` is offered."""
    return [a for a in answers_for_place(place) if code in (a.subclasses or [])]


def _need(actor: Any) -> None:
    if not any(actor.can(p) for p in STAFF):
        raise NotPermitted()


def notices_visible_to(actor: Any) -> QuerySet[Notice]:
    """Notices published in the actor's territory (withdrawn ones too), newest first."""
    _need(actor)
    return Notice.objects.visible_to(actor).select_related("area").order_by("-published_at", "-pk")


def answers_visible_to(actor: Any) -> QuerySet[Answer]:
    """Answers published in the actor's territory (withdrawn ones too), newest first."""
    _need(actor)
    return Answer.objects.visible_to(actor).select_related("area").order_by("-published_at", "-pk")


def notice_for(actor: Any, pk: int) -> Notice | None:
    """One notice in the actor's territory, or None."""
    return notices_visible_to(actor).filter(pk=pk).first()


def answer_for(actor: Any, pk: int) -> Answer | None:
    """One answer in the actor's territory, or None."""
    return answers_visible_to(actor).filter(pk=pk).first()
