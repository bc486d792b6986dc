"""Intake (C1): tickets from every channel, checked, classified, placed and merged.

One path for all channels: a hotline connector's batch, the resident's web form, a hotline
export, an Open311 request and `tickets replay` all end in `receive_many`. Each row is checked
on its own (a bad row is reported with its line and does not stop the good ones); the good
rows are classified together (one vectorised call), placed in the territory, merged with the
open cases they repeat (matching.py) or opened as new cases, and written in one transaction.
The same channel reference twice is one ticket: the second time answers with the first.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case as DbCase
from django.db.models import F, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from gridguard.access.services.inputs import parse_phone, parse_text
from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import paths_of, require_permission
from gridguard.territory.address_match import place_address
from gridguard.territory.models import Area
from gridguard.tickets import classifier, matching
from gridguard.tickets.models import (
    MAX_PLACE,
    MAX_TEXT,
    OPEN_STATUSES,
    Case,
    CaseKey,
    CaseStatus,
    Channel,
    Ticket,
    TicketEvent,
    TicketEventKind,
)
from gridguard.tickets.services import routing

MAX_BATCH = 1000
MIN_TEXT = 4
MAX_REF = 64
CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass
class Incoming:
    """One checked row, ready to be written."""

    line: int
    channel: str
    channel_ref: str
    received_at: dt.datetime
    text: str
    place_text: str
    reporter_name: str
    reporter_phone: str
    reporter_id: int | None


@dataclass
class Outcome:
    """What became of one row: its ticket (new or the one already there), or its errors."""

    line: int
    ticket: Ticket | None = None
    created: bool = False
    errors: list[FieldError] = field(default_factory=list)


def new_code(prefix: str) -> str:
    """A ticket or case number: a letter and ten characters no one misreads (no 0/O, 1/I)."""
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def parse_received_at(value: Any, now: dt.datetime) -> tuple[dt.datetime | None, list[FieldError]]:
    """When the channel received it: ISO 8601 (naive means Shanghai time), not in the future."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return now, []
    when: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            when = None
    if when is None:
        return None, [
            FieldError(
                "received_at",
                "invalid",
                _("Enter when it was received as a date and time (2020-02-14T09:30:00+08:00)."),
            )
        ]
    if when.tzinfo is None:
        when = when.replace(tzinfo=clock.SHANGHAI)
    if when > now + CLOCK_SKEW:
        return None, [FieldError("received_at", "future", _("This time is in the future."))]
    if when < EARLIEST:
        return None, [FieldError("received_at", "too_old", _("This time is before 2000."))]
    return when.astimezone(dt.UTC), []


def check_row(row: Mapping[str, Any], line: int, now: dt.datetime) -> Incoming | list[FieldError]:
    """A checked row, or every error in it (each naming its field and line)."""
    errors: list[FieldError] = []
    channel = str(row.get("channel") or "").strip()
    if channel not in Channel.values:
        errors.append(
            FieldError(
                "channel",
                "unknown" if channel else "required",
                _("Choose the channel: 12345, 12319, 12320, web or opinion."),
            )
        )
    ref = unicodedata.normalize("NFKC", str(row.get("channel_ref") or "")).strip()
    if not ref:
        if channel in (Channel.WEB, Channel.OPINION):
            ref = new_code("W")  # the form's own submissions get a reference here
        else:
            errors.append(
                FieldError("channel_ref", "required", _("Give the hotline's own reference number."))
            )
    elif len(ref) > MAX_REF or not ref.isprintable():
        errors.append(
            FieldError(
                "channel_ref",
                "invalid",
                _("A reference is 1 to 64 printable characters."),
            )
        )
    text, bad = parse_text(
        row.get("text"), "text", MAX_TEXT, required=True, message=_("Say what the problem is.")
    )
    errors += bad
    if not bad and len(text) < MIN_TEXT:
        errors.append(
            FieldError("text", "too_short", _("Say what the problem is in at least 4 characters."))
        )
    place, bad = parse_text(row.get("place"), "place", MAX_PLACE, required=False)
    errors += bad
    name, bad = parse_text(row.get("reporter_name"), "reporter_name", 50, required=False)
    errors += bad
    phone, bad = parse_phone(row.get("reporter_phone"), "reporter_phone", required=False)
    errors += bad
    received_at, bad = parse_received_at(row.get("received_at"), now)
    errors += bad
    if errors or received_at is None:
        return [FieldError(e.field, e.code, e.message, line) for e in errors]
    reporter = row.get("reporter")
    return Incoming(
        line=line,
        channel=channel,
        channel_ref=ref,
        received_at=received_at,
        text=text,
        place_text=place,
        reporter_name=name,
        reporter_phone=phone,
        reporter_id=getattr(reporter, "pk", None),
    )


def receive(actor: Any, **row: Any) -> Ticket:
    """One ticket (fields as for `receive_many`); InvalidInput names every bad field."""
    outcome = receive_many(actor, [row])[0]
    if outcome.errors or outcome.ticket is None:
        raise InvalidInput([FieldError(e.field, e.code, e.message) for e in outcome.errors])
    return outcome.ticket


def receive_many(
    actor: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    fallback_area: Area | None = None,
    permission: str = "tickets.intake",
) -> list[Outcome]:
    """Take tickets in: one Outcome per row, in order. Row fields: channel, channel_ref,
    received_at, text, place, reporter_name, reporter_phone, reporter (a user).

    A ticket whose place is not found in the territory lands in `fallback_area` (default:
    the actor's own area), flagged `place_matched=False` for an operator to place."""
    if permission:
        require_permission(actor, permission)
    if len(rows) > MAX_BATCH:
        raise InvalidInput.one(
            None, "too_many", _("Send at most %(n)d tickets at once.") % {"n": MAX_BATCH}
        )
    now = clock.now()
    outcomes = [Outcome(line=i + 1) for i in range(len(rows))]
    good: list[Incoming] = []
    for outcome, row in zip(outcomes, rows, strict=True):
        checked = check_row(row, outcome.line, now)
        if isinstance(checked, list):
            outcome.errors = checked
        else:
            good.append(checked)
    if not good:
        return outcomes
    home = fallback_area or _home_area(actor)
    with transaction.atomic(), audit.batched():
        fresh, later = _drop_repeats(good, outcomes)
        if fresh:
            for item, ticket in zip(fresh, _write(actor, fresh, home, now), strict=True):
                outcome = outcomes[item.line - 1]
                outcome.ticket, outcome.created = ticket, True
        for outcome, first in later:
            outcome.ticket = outcomes[first.line - 1].ticket
    return outcomes


def _home_area(actor: Any) -> Area:
    """Where an unplaced ticket lands: the actor's own area, else the top of the territory."""
    area = getattr(actor, "area", None)
    if isinstance(area, Area):
        return area
    for path in paths_of(actor):
        found = Area.objects.filter(path=path).first()
        if found is not None:
            return found
    top = Area.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        raise InvalidInput.one(None, "no_territory", _("The territory is empty."))
    return top


def _drop_repeats(
    items: list[Incoming], outcomes: list[Outcome]
) -> tuple[list[Incoming], list[tuple[Outcome, Incoming]]]:
    """Rows whose channel reference is already a ticket answer with that ticket, and a repeat
    inside the batch with the first of it (returned as pairs to fill in once it is written);
    a reference reused for different text is an error."""
    refs: dict[str, list[str]] = {}
    for item in items:
        refs.setdefault(item.channel, []).append(item.channel_ref)
    existing: dict[tuple[str, str], Ticket] = {}
    for channel, channel_refs in refs.items():
        for t in Ticket.objects.filter(channel=channel, channel_ref__in=channel_refs):
            existing[(t.channel, t.channel_ref)] = t
    fresh: list[Incoming] = []
    later: list[tuple[Outcome, Incoming]] = []
    seen: dict[tuple[str, str], Incoming] = {}
    for item in items:
        key = (item.channel, item.channel_ref)
        outcome = outcomes[item.line - 1]
        first = existing.get(key)
        earlier = seen.get(key)
        if first is None and earlier is None:
            seen[key] = item
            fresh.append(item)
        elif (first.text if first is not None else earlier.text) != item.text:  # type: ignore[union-attr]
            outcome.errors = [
                FieldError(
                    "channel_ref",
                    "duplicate",
                    _("This reference is already used by another ticket of this channel."),
                    item.line,
                )
            ]
        elif first is not None:
            outcome.ticket = first
        else:
            later.append((outcome, earlier))  # type: ignore[arg-type]
    return fresh, later


@dataclass
class _Open:
    """An open case as merging sees it: the case and its reports (features), newest last."""

    case: Case
    reports: list[matching.Report]
    keys: set[str]


def _write(actor: Any, items: list[Incoming], home: Area, now: dt.datetime) -> list[Ticket]:
    model = classifier.current()
    predictions = model.predict_many([i.text for i in items])
    reports = [
        matching.Report.of(
            i.text, i.place_text, p, model, received_at=i.received_at, channel=i.channel
        )
        for i, p in zip(items, predictions, strict=True)
    ]
    window = dt.timedelta(days=settings.TICKET_MERGE_WINDOW_DAYS)
    open_cases = _open_cases(reports, items, window, model)
    placed = [_place(i, home) for i in items]
    actor_label = audit.describe_actor(actor)[1][:150]
    tickets: list[Ticket] = []
    events: list[TicketEvent] = []
    touched: dict[int, _Open] = {}
    areas = {a.pk: a for a in Area.objects.filter(pk__in={pk for pk, _ in placed})}
    # Which open cases each key finds, latest reported last (kept up to date as the batch
    # opens and joins cases); a key offers only its latest few (see _cap).
    by_key: dict[str, list[int]] = {}
    for i in sorted(range(len(open_cases)), key=lambda i: open_cases[i].case.last_reported_at):
        for k in open_cases[i].keys:
            by_key.setdefault(k, []).append(i)
    for item, report, (area_pk, matched) in zip(items, reports, placed, strict=True):
        block_keys = set(report.block_keys())
        found = set().union(*(by_key.get(k, [])[-_cap(k) :] for k in block_keys))
        candidates = [
            (i, open_cases[i].reports[-5:])
            for i in sorted(found)
            if open_cases[i].case.status in OPEN_STATUSES
            and item.received_at - open_cases[i].case.last_reported_at <= window
        ]
        best = matching.best_case(report, candidates, model)
        if best is not None:
            index = best[0]
            entry = open_cases[index]
            case, score = entry.case, best[1]
            case.ticket_count += 1
            case.last_reported_at = max(case.last_reported_at, item.received_at)
            entry.reports.append(report)
            entry.keys.update(block_keys)
        else:
            case = _open_case(item, report, areas[area_pk], matched)
            score = None
            entry = _Open(case=case, reports=[report], keys=block_keys)
            index = len(open_cases)
            open_cases.append(entry)
        for k in block_keys:
            listed = by_key.setdefault(k, [])
            if index in listed[-_cap(k) :]:
                listed.remove(index)
            listed.append(index)
        touched[id(entry)] = entry
        ticket = Ticket(
            number=new_code("T"),
            channel=item.channel,
            channel_ref=item.channel_ref,
            received_at=item.received_at,
            text=item.text,
            place_text=item.place_text,
            place_matched=matched,
            area_id=area_pk if matched else case.area_id,
            reporter_name=item.reporter_name,
            reporter_phone=item.reporter_phone,
            reporter_id=item.reporter_id,
            subclass=report.prediction.subclass,
            confidence=round(report.prediction.confidence, 4),
            case=case,
            merge_score=None if score is None else round(score, 4),
            created_at=now,
        )
        tickets.append(ticket)
    # Route the new cases before they are written, then write cases (new ones need their
    # ids), tickets, history and keys, each in one statement.
    directory = routing.Directory(a.path for a in areas.values())
    dispatched: list[Case] = []
    new_cases: list[Case] = []
    for t in tickets:
        if t.merge_score is None:
            new_cases.append(t.case)
            if routing.assign(t.case, t.confidence, now, directory):
                dispatched.append(t.case)
    fresh_cases = {id(c) for c in new_cases}
    Case.objects.bulk_create(new_cases)
    joined = [e.case for e in touched.values() if id(e.case) not in fresh_cases]
    if joined:
        # One statement run for every joined case (Django's bulk_update builds a CASE per
        # row, which costs more than the writes themselves).
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Case._meta.db_table} SET ticket_count = %s, last_reported_at = %s "
                "WHERE id = %s",
                [(c.ticket_count, c.last_reported_at, c.pk) for c in joined],
            )
    for t in tickets:
        t.case = t.case  # sets case_id from the now saved case, keeping it cached
    # The tickets' areas as objects (the audit trail reads each ticket's area path): one
    # query for those of joined cases not read yet.
    areas.update(Area.objects.in_bulk({t.area_id for t in tickets} - areas.keys()))
    for t in tickets:
        t.area = areas[t.area_id]
    Ticket.objects.bulk_create(tickets)
    for t in tickets:
        events.append(
            TicketEvent(
                case=t.case,
                ticket=t,
                kind=TicketEventKind.RECEIVED,
                at=now,
                actor=actor_label,
                area_id=t.case.area_id,
                detail={"channel": t.channel, "subclass": t.subclass, "confidence": t.confidence},
            )
        )
        if t.merge_score is not None:
            events.append(
                TicketEvent(
                    case=t.case,
                    ticket=t,
                    kind=TicketEventKind.MERGED,
                    at=now,
                    actor=actor_label,
                    area_id=t.case.area_id,
                    detail={"score": t.merge_score, "case": t.case.number},
                )
            )
        audit.record(actor, "ticket.receive", t, detail={"case": t.case.number})
    events += [routing.dispatched_event(c, actor_label, now) for c in dispatched]
    TicketEvent.objects.bulk_create(events)
    _save_keys(touched.values(), now)
    routing.answer_late_joiners(actor, [t for t in tickets if t.merge_score is not None])
    return tickets


# A key that finds more open cases than this is a topic rather than a place (a common name
# word): only its most recently reported cases are compared. A road (w:) or a subclass (s:)
# is broad by nature (a city has thousands of cases of a subclass a week): its ten latest.
HOT_KEY_CASES = 20
BROAD_KEY_CASES = 10


def _cap(key: str) -> int:
    return BROAD_KEY_CASES if key.startswith(("w:", "s:")) else HOT_KEY_CASES


# A past ticket as read for merging: id, text, place text, received at, channel.
_Past = tuple[int, str, str, dt.datetime, str]
# Reports of past tickets, as merging reads them, by (the past ticket's fields, model): a
# busy process does not read the same open cases again and again.
_REPORTS: OrderedDict[tuple[int, str, str, dt.datetime, str, str], matching.Report] = OrderedDict()
_REPORTS_KEPT = 100_000


def _candidate_cases(keys: set[str], since: dt.datetime) -> QuerySet[Case]:
    """The open cases found under `keys` within the window, the latest few per key (_cap):
    the keys' cases ranked by when they were last reported, as a subquery (a batch's
    candidates are thousands: they never make the round trip as a list of ids)."""
    broad = Q(key__startswith="w:") | Q(key__startswith="s:")
    ranked = (
        CaseKey.objects.filter(key__in=keys, last_at__gte=since)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("key")], order_by=F("last_at").desc()),
            cap=DbCase(When(broad, then=BROAD_KEY_CASES), default=HOT_KEY_CASES),
        )
        .filter(rank__lte=F("cap"))
        .values("case_id")
    )
    return Case.objects.filter(pk__in=ranked, status__in=OPEN_STATUSES)


def _open_cases(
    reports: list[matching.Report],
    items: list[Incoming],
    window: dt.timedelta,
    model: classifier.Classifier,
) -> list[_Open]:
    """The open cases that share a key with any of the new reports, within the window, with
    their latest reports (read once per process and kept: see _REPORTS)."""
    keys = {k for r in reports for k in r.block_keys()}
    if not keys:
        return []
    since = min(i.received_at for i in items) - window
    candidates = _candidate_cases(keys, since)
    cases = {c.pk: c for c in candidates}
    if not cases:
        return []
    rows = list(
        Ticket.objects.filter(case__in=candidates.values("pk"))
        .order_by("case_id", "-received_at")
        .values_list("case_id", "pk", "text", "place_text", "received_at", "channel")
    )
    latest: dict[int, list[_Past]] = {}
    for case_id, pk, text, place, received_at, channel in rows:
        if case_id in cases and len(latest.setdefault(case_id, [])) < 5:
            latest[case_id].append((pk, text, place, received_at, channel))
    version = model.trained_at
    missing = [
        past for pasts in latest.values() for past in pasts if (*past, version) not in _REPORTS
    ]
    predictions = model.predict_many([past[1] for past in missing])
    read = {
        (*past, version): matching.Report.of(
            past[1], past[2], prediction, model, received_at=past[3], channel=past[4]
        )
        for past, prediction in zip(missing, predictions, strict=True)
    }
    by_case: dict[int, _Open] = {}
    for case_id, pasts in latest.items():
        # Oldest first, as the reports of a case are kept (newest last).
        case_reports = [
            read.get((*past, version)) or _REPORTS[(*past, version)] for past in reversed(pasts)
        ]
        by_case[case_id] = _Open(
            case=cases[case_id],
            reports=case_reports,
            keys={k for r in case_reports for k in r.block_keys()},
        )
    _REPORTS.update(read)
    while len(_REPORTS) > _REPORTS_KEPT:
        _REPORTS.popitem(last=False)
    return list(by_case.values())


def _place(item: Incoming, home: Area) -> tuple[int, bool]:
    """The territory area the place text (else the ticket text) names: (area pk, matched)."""
    for text in (item.place_text, f"{item.place_text} {item.text}"):
        if not text.strip():
            continue
        pk, matched, _ = place_address(text, within=home)
        if matched or pk != home.pk:
            return pk, True
    return home.pk, False


def _open_case(item: Incoming, report: matching.Report, area: Area, matched: bool) -> Case:
    return Case(
        number=new_code("C"),
        subclass=report.prediction.subclass,
        urgency=routing.urgency_of(report.prediction.subclass),
        status=CaseStatus.TRIAGE,
        place_text=item.place_text or (report.place_keys[0][2:] if report.place_keys else ""),
        place_matched=matched,
        area=area,
        opened_at=item.received_at,
        last_reported_at=item.received_at,
        ticket_count=1,
    )


def _save_keys(entries: Any, now: dt.datetime) -> None:
    """Record (or refresh) the keys each touched case is found under, in one upsert."""
    rows = {
        (e.case.pk, k[:80]): CaseKey(case_id=e.case.pk, key=k[:80], last_at=e.case.last_reported_at)
        for e in entries
        for k in e.keys
    }
    CaseKey.objects.bulk_create(
        list(rows.values()),
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["key", "case"],
        update_fields=["last_at"],
    )
