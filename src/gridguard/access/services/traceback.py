"""Trace-back (A4): run one for a person or a pass, with a reason, audited; export its list
masked by role; open follow-up tasks for the committees of the contacts.

A trace-back keeps its question (subject, window, gap, reason) and the counts it found; the
list itself is computed again from the gate logs whenever it is shown or exported (well under
a second on 10,000,000 events), so no copy of who-met-whom is stored beside the logs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.access.models import EntryPass, TraceBack
from gridguard.access.selectors import traceback as selectors
from gridguard.access.selectors.traceback import BUILDING, GATE, SECTIONS, Contact, TraceResult
from gridguard.accounts.models import User
from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.health.models import FollowUpKind, FollowUpTask
from gridguard.people.models import Person
from gridguard.territory.exports import FORMATS, ExportFile, csv_chunks, xlsx_bytes

MAX_WINDOW = dt.timedelta(days=28)
MIN_GAP, MAX_GAP = 1, 240
FOLLOWUP_DUE = dt.timedelta(hours=24)
PERMISSION = "traceback.run"
# The personal fields a trace-back list shows (named in its audit rows).
SHOWN_FIELDS = ["name", "id_number", "phone"]
EXPORT_COLUMNS = (
    "section",
    "person_id",
    "name",
    "id_number",
    "phone",
    "area_name",
    "area_code",
    "committee",
    "first_seen",
    "last_seen",
    "gates",
    "encounters",
    "same_household",
)


def _aware(value: dt.datetime) -> dt.datetime:
    """A time without a zone is Shanghai time: what people mean when they type one."""
    return value if value.tzinfo is not None else value.replace(tzinfo=clock.SHANGHAI)


def _check_window(
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    gap_minutes: int | None,
    reason: str,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not reason:
        errors.append(FieldError("reason", "required", _("Say why this trace-back is needed.")))
    if window_start is None:
        errors.append(FieldError("window_start", "required", _("Give the start of the window.")))
    elif window_start > clock.now():
        errors.append(
            FieldError("window_start", "future", _("The window cannot start in the future."))
        )
    if window_end is None:
        errors.append(FieldError("window_end", "required", _("Give the end of the window.")))
    elif window_start is not None and window_end <= window_start:
        errors.append(
            FieldError("window_end", "before_start", _("The window must end after it starts."))
        )
    elif window_start is not None and window_end - window_start > MAX_WINDOW:
        errors.append(
            FieldError(
                "window_end",
                "too_long",
                _("A trace-back covers at most %(days)d days.") % {"days": MAX_WINDOW.days},
            )
        )
    if gap_minutes is None or not MIN_GAP <= gap_minutes <= MAX_GAP:
        errors.append(
            FieldError(
                "gap_minutes",
                "out_of_range",
                _("Between %(lo)d and %(hi)d minutes.") % {"lo": MIN_GAP, "hi": MAX_GAP},
            )
        )
    return errors


def run_traceback(
    actor: Any,
    *,
    person: Person | None = None,
    entry_pass: EntryPass | None = None,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    gap_minutes: int | None = 15,
    reason: str,
) -> tuple[TraceBack, TraceResult]:
    """Trace a person (or a pass: its scans, and its holder's building and visitors) over a
    window of at most 28 days that has started; `gap_minutes` is how close in time a scan at
    the same gate counts as a contact. Needs "traceback.run" over the subject's area and a
    reason; the run is audited with its counts. Returns the stored TraceBack and the list."""
    if entry_pass is not None:
        if person is not None and person.pk != entry_pass.person_id:
            raise InvalidInput.one(
                "entry_pass", "other_person", _("This pass belongs to someone else.")
            )
        person = entry_pass.person
    if person is None:
        raise InvalidInput.one("person", "required", _("Give a person or a pass number."))
    require_permission_at(actor, PERMISSION, person.area)
    reason = (reason or "").strip()
    start = _aware(window_start) if window_start is not None else None
    end = _aware(window_end) if window_end is not None else None
    errors = _check_window(start, end, gap_minutes, reason)
    if errors:
        raise InvalidInput(errors)
    assert start is not None and end is not None and gap_minutes is not None
    result = selectors.trace(
        person, entry_pass=entry_pass, start=start, end=end, gap=dt.timedelta(minutes=gap_minutes)
    )
    counts = result.counts()
    with transaction.atomic():
        tb = TraceBack.objects.create(
            area=person.area,
            person=person,
            entry_pass=entry_pass,
            window_start=start,
            window_end=end,
            gap_minutes=gap_minutes,
            reason=reason[:255],
            requested_by=actor if isinstance(actor, User) else None,
            counts=counts,
        )
        audit.record(
            actor,
            "access.traceback.run",
            tb,
            detail={
                "person": person.pk,
                "pass": entry_pass.pass_id if entry_pass is not None else None,
                "window": [start.isoformat(), end.isoformat()],
                "gap_minutes": gap_minutes,
                "reason": tb.reason,
                "counts": counts,
            },
        )
    return tb, result


def record_read(actor: Any, tb: TraceBack, shown: Iterable[Contact]) -> None:
    """One audit row for a list of contacts shown (page or API), naming every person in it:
    one row per trace-back read rather than one per contact."""
    rows = list(shown)
    audit.record(
        actor,
        "access.traceback.read",
        tb,
        detail={
            "contacts": sorted({c.person_id for c in rows if c.person_id is not None}),
            "unidentified": sum(1 for c in rows if c.person_id is None),
            "fields": SHOWN_FIELDS,
        },
    )


# --------------------------------------------------------------------------- follow-ups


def _summary(tb: TraceBack, contact: Contact) -> str:
    when = clock.local(contact.first_at).strftime("%m-%d %H:%M") if contact.first_at else ""
    if contact.why == GATE:
        text = _(
            "Trace-back %(tb)s: passed %(gates)s within %(gap)d minutes of a case (%(when)s, "
            "%(n)d times)"
        ) % {
            "tb": tb.pk,
            "gates": "、".join(contact.gates),
            "gap": tb.gap_minutes,
            "when": when,
            "n": contact.encounters,
        }
    elif contact.why == BUILDING:
        text = (
            _("Trace-back %(tb)s: lives in the household of a case")
            if contact.same_household
            else _("Trace-back %(tb)s: lives in the building of a case")
        ) % {"tb": tb.pk}
    else:
        text = _("Trace-back %(tb)s: visited the household of a case (%(when)s)") % {
            "tb": tb.pk,
            "when": when,
        }
    return text[:255]


def source_of(tb: TraceBack, person_id: int) -> str:
    """The follow-up's source: one task per trace-back and contact, however often asked."""
    return f"traceback:{tb.pk}:{person_id}"


def open_traceback_followups(
    actor: Any,
    tb: TraceBack,
    person_ids: Iterable[int] | None = None,
    *,
    sections: Iterable[str] = SECTIONS,
) -> list[FollowUpTask]:
    """Open a "trace contact" follow-up for each known contact (those of `sections`, or the
    `person_ids` named, which must be contacts), at the committee where the contact lives.
    Calling again opens nothing twice. Returns the tasks, new and earlier."""
    require_permission_at(actor, PERMISSION, tb.area)
    result = selectors.trace_of(tb)
    first: dict[int, Contact] = {}
    for c in result.contacts():
        if c.person_id is not None:
            first.setdefault(c.person_id, c)
    if person_ids is None:
        wanted = result.person_ids(sections)
    else:
        wanted = list(dict.fromkeys(int(p) for p in person_ids))
        strangers = [p for p in wanted if p not in first]
        if strangers:
            raise InvalidInput.one(
                "person_ids",
                "not_contact",
                _("Not contacts of this trace-back: %(ids)s")
                % {"ids": ", ".join(map(str, strangers))},
            )
    now = clock.now()
    with transaction.atomic(), audit.batched():
        # One opener at a time per trace-back, so two clicks cannot both create a task.
        TraceBack.objects.select_for_update().filter(pk=tb.pk).first()
        sources = {source_of(tb, pid): pid for pid in wanted}
        existing = list(
            FollowUpTask.objects.filter(source__in=list(sources)).select_related("area")
        )
        have = {t.source for t in existing}
        new = [
            FollowUpTask(
                kind=FollowUpKind.TRACE_CONTACT,
                person_id=pid,
                area=first[pid].committee or first[pid].area,
                source=source,
                summary=_summary(tb, first[pid]),
                due_at=now + FOLLOWUP_DUE,
                created_at=now,
            )
            for source, pid in sources.items()
            if source not in have
        ]
        created = FollowUpTask.objects.bulk_create(new)
        if created and created[0].pk is None:  # a backend that returns no ids
            created = list(FollowUpTask.objects.filter(source__in=[t.source for t in new]))
        for task in created:
            audit.record(
                actor,
                "followup.open",
                task,
                detail={"kind": FollowUpKind.TRACE_CONTACT, "source": task.source},
            )
        opened = FollowUpTask.objects.filter(source__startswith=f"traceback:{tb.pk}:").count()
        tb.counts = {**tb.counts, "followups": opened}
        TraceBack.objects.filter(pk=tb.pk).update(counts=tb.counts)
        audit.record(
            actor,
            "access.traceback.followups",
            tb,
            detail={"opened": len(created), "already": len(existing), "persons": wanted},
        )
    return sorted([*existing, *created], key=lambda t: t.pk)


# --------------------------------------------------------------------------- export


def _local(value: dt.datetime | None) -> str:
    return clock.local(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def export_rows(actor: Any, result: TraceResult) -> Iterator[tuple[Any, ...]]:
    """The contacts as rows of EXPORT_COLUMNS, masked for `actor` (selectors.present)."""
    for contact in result.contacts():
        row = selectors.present(actor, contact)
        yield (
            row["why"],
            row["person_id"],
            row["name"],
            row["id_number"],
            row["phone"],
            row["area_name"],
            row["area_code"],
            row["committee_name"],
            _local(row["first_at"]),
            _local(row["last_at"]),
            "、".join(row["gates"]),
            row["encounters"],
            "yes" if row["same_household"] else "",
        )


def export_traceback(actor: Any, tb: TraceBack, *, fmt: str = "csv") -> ExportFile:
    """The trace-back's list as CSV or XLSX, masked by role; audited with the persons in it."""
    if fmt not in FORMATS:
        raise InvalidInput.one(
            "format", "unknown", _("Format: one of %(f)s.") % {"f": ", ".join(FORMATS)}
        )
    require_permission_at(actor, PERMISSION, tb.area)
    result = selectors.trace_of(tb)
    contacts = result.contacts()
    audit.record(
        actor,
        "access.traceback.export",
        tb,
        detail={
            "format": fmt,
            "count": len(contacts),
            "contacts": sorted({c.person_id for c in contacts if c.person_id is not None}),
            "fields": SHOWN_FIELDS,
        },
    )
    rows = export_rows(actor, result)
    chunks: Iterable[bytes] = (
        csv_chunks(EXPORT_COLUMNS, rows)
        if fmt == "csv"
        else [xlsx_bytes(EXPORT_COLUMNS, rows, "traceback")]
    )
    name = f"traceback-{tb.pk}-{clock.today():%Y%m%d}.{fmt}"
    return ExportFile(name, FORMATS[fmt], len(contacts), chunks)
