"""Notices to residents and answers to common questions (C3): publish and withdraw.

A notice published to an area reaches everything under it. Publishing and withdrawing need
`notices.publish` held over the area; every step is audited. Bad input names its field and
writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission, require_permission_at
from gridguard.territory.models import Area
from gridguard.tickets import taxonomy
from gridguard.tickets.models import Answer, Notice

PUBLISH = "notices.publish"
MAX_TITLE = 120
MAX_BODY = 5000
MAX_QUESTION = 200


def _text(value: Any, name: str, limit: int, errors: list[FieldError], message: str) -> str:
    text = str(value or "").strip()
    if not text:
        errors.append(FieldError(name, "required", message))
    elif len(text) > limit:
        errors.append(FieldError(name, "too_long", _("At most %(n)d characters.") % {"n": limit}))
    return text


def parse_until(value: Any, now: dt.datetime) -> tuple[dt.datetime | None, list[FieldError]]:
    """When a notice stops being shown: empty (until withdrawn), a date (shown through that
    Shanghai day) or a date and time (naive means Shanghai time); not in the past."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    when: dt.datetime | None
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, dt.date):
        when = dt.datetime.combine(value + dt.timedelta(days=1), dt.time.min)
    else:
        raw = str(value).strip()
        try:
            if len(raw) == 10:
                day = dt.date.fromisoformat(raw)
                when = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)
            else:
                when = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None, [
                FieldError("until", "invalid", _("Enter a date (YYYY-MM-DD) or a date and time."))
            ]
    if when.tzinfo is None:
        when = when.replace(tzinfo=clock.SHANGHAI)
    if when <= now:
        return None, [FieldError("until", "past", _("This time has already passed."))]
    return when.astimezone(dt.UTC), []


def _check(actor: Any, area: Any, errors: list[FieldError]) -> Area:
    """NotPermitted without the permission; InvalidInput with every field error (the area's
    too); OutOfScope or NotPermitted unless the permission is held over the area."""
    require_permission(actor, PUBLISH)
    if not isinstance(area, Area):
        errors.insert(0, FieldError("area", "required", _("Choose the area it is for.")))
    if errors:
        raise InvalidInput(errors)
    require_permission_at(actor, PUBLISH, area)
    return area


def publish_notice(
    actor: Any, *, area: Area | None, title: Any, body: Any, until: Any = None
) -> Notice:
    """Publish a notice to `area` and its subtree (shown until `until`, or until withdrawn)."""
    now = clock.now()
    errors: list[FieldError] = []
    title_text = _text(title, "title", MAX_TITLE, errors, _("Give the notice a title."))
    body_text = _text(body, "body", MAX_BODY, errors, _("Write the notice."))
    until_at, bad = parse_until(until, now)
    errors += bad
    area = _check(actor, area, errors)
    with transaction.atomic():
        notice = Notice.objects.create(
            area=area,
            title=title_text,
            body=body_text,
            published_at=now,
            until=until_at,
            published_by=audit.describe_actor(actor)[1][:150],
        )
        audit.record(actor, "notice.publish", notice, area_path=area.path)
    return notice


_Withdrawable = TypeVar("_Withdrawable", Notice, Answer)


def _withdraw(actor: Any, item: _Withdrawable, action: str) -> _Withdrawable:
    """Withdraw a notice or an answer (it stays on record); withdrawing twice changes
    nothing."""
    require_permission(actor, PUBLISH)
    require_permission_at(actor, PUBLISH, item.area)
    if item.withdrawn_at is not None:
        return item
    with transaction.atomic():
        item.withdrawn_at = clock.now()
        item.save(update_fields=["withdrawn_at"])
        audit.record(actor, action, item, area_path=item.area.path)
    return item


def withdraw_notice(actor: Any, notice: Notice) -> Notice:
    """Withdraw a notice (it stays on record)."""
    return _withdraw(actor, notice, "notice.withdraw")


def parse_subclasses(value: Any) -> tuple[list[str], list[FieldError]]:
    """Subclass codes from a list or a comma- or space-separated text; each must be known."""
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(",", " ").replace("，", " ").split()
    else:
        items = value or []
    codes = list(dict.fromkeys(str(v).strip().upper() for v in items if str(v).strip()))
    if not codes:
        return [], [FieldError("subclasses", "required", _("Choose the subclasses this answers."))]
    unknown = [c for c in codes if taxonomy.subclass(c) is None]
    if unknown:
        return [], [
            FieldError(
                "subclasses",
                "unknown",
                _("Unknown subclass: %(codes)s.") % {"codes": ", ".join(unknown)},
            )
        ]
    return codes, []


def publish_answer(
    actor: Any, *, area: Area | None, question: Any, answer: Any, subclasses: Any
) -> Answer:
    """Publish an answer to a common question for `area` and its subtree, linked to the
    ticket subclasses it answers."""
    errors: list[FieldError] = []
    question_text = _text(question, "question", MAX_QUESTION, errors, _("Write the question."))
    answer_text = _text(answer, "answer", MAX_BODY, errors, _("Write the answer."))
    codes, bad = parse_subclasses(subclasses)
    errors += bad
    area = _check(actor, area, errors)
    with transaction.atomic():
        made = Answer.objects.create(
            area=area,
            question=question_text,
            answer=answer_text,
            subclasses=codes,
            published_at=clock.now(),
            published_by=audit.describe_actor(actor)[1][:150],
        )
        audit.record(actor, "answer.publish", made, area_path=area.path)
    return made


def withdraw_answer(actor: Any, answer: Answer) -> Answer:
    """Withdraw an answer (it stays on record)."""
    return _withdraw(actor, answer, "answer.withdraw")
