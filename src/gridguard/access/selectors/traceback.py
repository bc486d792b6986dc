"""Reads for trace-back (A4): who passed the same gates within minutes of a person, who lives
in their building, who visited their household; and the trace-backs an actor may open.

The gate contacts are one SQL query over the gate events. On PostgreSQL a LATERAL join probes
the (area, scanned_at) index once per event of the subject, so the cost grows with the
subject's own events (tens in two weeks) and the events at those gates around those minutes,
not with the size of the table (10,000,000 rows in bench/trace_back.py). SQLite, the embedded
default for a street office, gets the same answer from the subject's events and one query of
index range conditions.

Contacts are found wherever they live: a case's contacts do not stop at a street's boundary.
What the reader is shown of a contact outside their own territory is masked (`present`), and
the follow-up goes to the contact's own committee
(docs/decisions/0009-traceback-contacts-across-territory.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from gridguard.access.models import EntryPass, GateEvent, GateVisitor, TraceBack
from gridguard.core import masking
from gridguard.core.errors import OutOfScope
from gridguard.core.scoping import covers
from gridguard.health.services.followups import committees_of
from gridguard.people.identity import normalise_id_number
from gridguard.people.models import Person
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

GATE, BUILDING, VISITOR = "gate", "building", "visitor"
SECTIONS = (GATE, BUILDING, VISITOR)
# SQLite: index range conditions per query (each takes three parameters).
_OR_CHUNK = 200


@dataclass
class GateHit:
    """One contact at the gates: when first and last seen near the subject, where, how often."""

    person_id: int
    first_at: dt.datetime
    last_at: dt.datetime
    gate_ids: set[int]
    encounters: int


@dataclass
class Contact:
    """One row of a trace-back, unmasked (pages, API and exports mask it with `present`)."""

    why: str  # GATE, BUILDING or VISITOR
    person_id: int | None
    name: str
    phone: str
    id_number: str
    area: Area | None  # where the contact lives (for an unknown visitor: the gate)
    committee: Area | None  # where a follow-up about the contact goes
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    gates: list[str] = field(default_factory=list)
    encounters: int = 0
    same_household: bool = False

    @property
    def sort_key(self) -> tuple[Any, ...]:
        when = self.first_at or dt.datetime.max.replace(tzinfo=dt.UTC)
        return (when, self.name, self.person_id or 0)


@dataclass
class TraceResult:
    """The three lists of a trace-back and what they were computed from."""

    subject: Person
    entry_pass: EntryPass | None
    subject_events: int
    building: Area | None
    gate: list[Contact]
    residents: list[Contact]
    visitors: list[Contact]

    def section(self, name: str) -> list[Contact]:
        """The contacts of one section (GATE, BUILDING or VISITOR)."""
        return {GATE: self.gate, BUILDING: self.residents, VISITOR: self.visitors}[name]

    def contacts(self) -> list[Contact]:
        """Every row, gate contacts first."""
        return [*self.gate, *self.residents, *self.visitors]

    def counts(self) -> dict[str, int]:
        """What a TraceBack keeps of the result."""
        return {
            "subject_events": self.subject_events,
            "gate_contacts": len(self.gate),
            "same_building": len(self.residents),
            "visitors": len(self.visitors),
        }

    def person_ids(self, sections: Iterable[str] = SECTIONS) -> list[int]:
        """Known persons among the contacts of `sections`, each once, in order of appearance."""
        seen: dict[int, None] = {}
        for name in sections:
            for c in self.section(name):
                if c.person_id is not None:
                    seen.setdefault(c.person_id, None)
        return list(seen)


# --------------------------------------------------------------------------- subject


def find_subject(
    actor: Any, *, person_ref: str = "", pass_ref: str = ""
) -> tuple[Person | None, EntryPass | None]:
    """The person (by full ID number or record id) or the pass (by its number) an actor names,
    looked up in the actor's territory only; (None, None) parts for what was not found."""
    person: Person | None = None
    entry_pass: EntryPass | None = None
    ref = (person_ref or "").strip()
    if ref:
        people = Person.objects.visible_to(actor).select_related("area", "household__area")
        # The full number only: no partial matching of identity numbers. A short number of
        # digits that is nobody's document number is a record id.
        person = people.filter(id_number=normalise_id_number(ref)).first()
        if person is None and ref.isdigit() and len(ref) <= 12:
            person = people.filter(pk=int(ref)).first()
    number = (pass_ref or "").strip().upper()
    if number:
        entry_pass = (
            EntryPass.objects.visible_to(actor)
            .select_related("person__area", "person__household__area", "area")
            .filter(pass_id=number)
            .first()
        )
    return person, entry_pass


# --------------------------------------------------------------------------- gate contacts


def _subject_filter(person_id: int | None, entry_pass_id: int | None) -> Q:
    return Q(entry_pass_id=entry_pass_id) if entry_pass_id is not None else Q(person_id=person_id)


def gate_contacts(
    *,
    person_id: int,
    entry_pass_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    gap: dt.timedelta,
) -> tuple[int, list[GateHit]]:
    """(the subject's events in [start, end), the other persons scanned at the same gate
    within ±gap of one of them, grouped per person). By pass when `entry_pass_id` is given,
    else by person; the subject's own scans are never contacts. A scan that names a pass but
    no person counts for the pass's holder."""
    if connection.vendor == "postgresql":
        return _gate_contacts_pg(person_id, entry_pass_id, start, end, gap)
    return _gate_contacts_portable(person_id, entry_pass_id, start, end, gap)


def _gate_contacts_pg(
    person_id: int,
    entry_pass_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    gap: dt.timedelta,
) -> tuple[int, list[GateHit]]:
    events = GateEvent._meta.db_table
    passes = EntryPass._meta.db_table
    subject_col = "entry_pass_id" if entry_pass_id is not None else "person_id"
    # s: the subject's scans (index on (person|entry_pass, scanned_at)); c: for each, the scans
    # at the same gate within the gap (index on (area, scanned_at)), probed once per scan.
    # The first branch gives the subject's scan count in the same round trip (the row whose
    # person is NULL), so a subject with no contacts still reports how often it was seen.
    sql = f"""
        WITH s AS MATERIALIZED (
            SELECT id, area_id, scanned_at FROM {events}
            WHERE {subject_col} = %(subject)s
              AND scanned_at >= %(start)s AND scanned_at < %(end)s
        )
        SELECT NULL, NULL, NULL, NULL, count(*) FROM s
        UNION ALL
        SELECT c.pid, min(c.scanned_at), max(c.scanned_at),
               array_agg(DISTINCT c.area_id), count(DISTINCT c.id)
        FROM s CROSS JOIN LATERAL (
            SELECT e.id, e.area_id, e.scanned_at, COALESCE(e.person_id, p.person_id) AS pid
            FROM {events} e
            LEFT JOIN {passes} p ON e.person_id IS NULL AND p.id = e.entry_pass_id
            WHERE e.area_id = s.area_id
              AND e.scanned_at BETWEEN s.scanned_at - %(gap)s AND s.scanned_at + %(gap)s
              AND e.id <> s.id
        ) c
        WHERE c.pid IS NOT NULL AND c.pid <> %(person)s
        GROUP BY c.pid
    """
    params: dict[str, Any] = {
        "subject": entry_pass_id if entry_pass_id is not None else person_id,
        "person": person_id,
        "start": start,
        "end": end,
        "gap": gap,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    own = 0
    hits: list[GateHit] = []
    for pid, first, last, gates, n in rows:
        if pid is None:
            own = int(n)
        else:
            hits.append(GateHit(int(pid), first, last, set(gates), int(n)))
    return own, hits


def _merged_windows(
    scans: Sequence[tuple[int, dt.datetime]], gap: dt.timedelta
) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(gate, from, to) ranges around the scans, overlapping ranges at one gate merged."""
    out: list[tuple[int, dt.datetime, dt.datetime]] = []
    for area_id, at in sorted(scans):
        lo, hi = at - gap, at + gap
        if out and out[-1][0] == area_id and lo <= out[-1][2]:
            out[-1] = (area_id, out[-1][1], max(hi, out[-1][2]))
        else:
            out.append((area_id, lo, hi))
    return out


def _gate_contacts_portable(
    person_id: int,
    entry_pass_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
    gap: dt.timedelta,
) -> tuple[int, list[GateHit]]:
    scans = list(
        GateEvent.objects.filter(
            _subject_filter(person_id, entry_pass_id),
            scanned_at__gte=start,
            scanned_at__lt=end,
        ).values_list("area_id", "scanned_at")
    )
    windows = _merged_windows(scans, gap)
    grouped: dict[int, GateHit] = {}
    seen: set[int] = set()
    for i in range(0, len(windows), _OR_CHUNK):
        cond = Q()
        for area_id, lo, hi in windows[i : i + _OR_CHUNK]:
            cond |= Q(area_id=area_id, scanned_at__gte=lo, scanned_at__lte=hi)
        rows = GateEvent.objects.filter(cond).values_list(
            "id", "area_id", "scanned_at", "person_id", "entry_pass__person_id"
        )
        for event_id, area_id, at, pid, pass_pid in rows:
            who = pid if pid is not None else pass_pid
            if who is None or who == person_id or event_id in seen:
                continue
            seen.add(event_id)
            hit = grouped.get(who)
            if hit is None:
                grouped[who] = GateHit(who, at, at, {area_id}, 1)
            else:
                hit.first_at = min(hit.first_at, at)
                hit.last_at = max(hit.last_at, at)
                hit.gate_ids.add(area_id)
                hit.encounters += 1
    return len(scans), list(grouped.values())


# --------------------------------------------------------------------------- building, visitors


def building_of(person: Person) -> Area | None:
    """The building the person lives in: their household's, else their own area's, when it is
    a building; None for a person who lives in a compound without buildings on record."""
    household = person.household if person.household_id else None
    for area in (household.area if household is not None else None, person.area):
        if area is not None and area.kind == AreaKind.BUILDING:
            return area
    return None


def same_building_ids(person: Person, building: Area | None) -> tuple[set[int], set[int]]:
    """(everyone else living in `building`, the members of the person's household). Two
    indexed reads joined by UNION: an OR across the person's and the household's area would
    scan every person."""
    household: set[int] = set()
    if person.household_id:
        household = set(
            Person.objects.filter(household_id=person.household_id, merged_into__isnull=True)
            .exclude(pk=person.pk)
            .values_list("pk", flat=True)
        )
    if building is None:
        return set(household), household
    living = Person.objects.filter(merged_into__isnull=True).exclude(pk=person.pk)
    ids = living.filter(area_id=building.pk).values_list("pk", flat=True)
    by_household = living.filter(household__area_id=building.pk).values_list("pk", flat=True)
    return set(ids.union(by_household)) | household, household


def household_visitors(
    person: Person, start: dt.datetime, end: dt.datetime
) -> QuerySet[GateVisitor]:
    """Visitors registered at a gate for the person's household, or for the person, in the
    window, oldest first."""
    hosts = Q(host_person_id=person.pk)
    if person.household_id:
        hosts |= Q(host_household_id=person.household_id)
    return (
        GateVisitor.objects.filter(hosts, time_in__gte=start, time_in__lt=end)
        .select_related("area", "person__area")
        .order_by("time_in", "pk")
    )


# --------------------------------------------------------------------------- the whole result


def trace(
    person: Person,
    *,
    entry_pass: EntryPass | None,
    start: dt.datetime,
    end: dt.datetime,
    gap: dt.timedelta,
) -> TraceResult:
    """Every contact of `person` (or of `entry_pass`, whose holder `person` is) in the window,
    unscoped and unmasked: the caller has checked the actor may trace this person, and masks
    what it shows with `present`."""
    own, hits = gate_contacts(
        person_id=person.pk,
        entry_pass_id=entry_pass.pk if entry_pass is not None else None,
        start=start,
        end=end,
        gap=gap,
    )
    building = building_of(person)
    residents, household = same_building_ids(person, building)
    visits = list(household_visitors(person, start, end))
    wanted = {h.person_id for h in hits} | residents
    wanted |= {v.person_id for v in visits if v.person_id is not None}
    persons = {
        p.pk: p for p in Person.objects.filter(pk__in=wanted).select_related("area", "household")
    }
    gate_ids = {g for h in hits for g in h.gate_ids}
    gates = {a.pk: a for a in Area.objects.filter(pk__in=gate_ids)} if gate_ids else {}
    places = [p.area for p in persons.values()] + [v.area for v in visits if v.person_id is None]
    committees = committees_of(places) if places else {}

    def row(why: str, p: Person, **extra: Any) -> Contact:
        return Contact(
            why=why,
            person_id=p.pk,
            name=p.name,
            phone=p.phone,
            id_number=p.id_number,
            area=p.area,
            committee=committees.get(p.area_id),
            **extra,
        )

    gate_rows = [
        row(
            GATE,
            persons[h.person_id],
            first_at=h.first_at,
            last_at=h.last_at,
            gates=sorted(gates[g].name for g in h.gate_ids if g in gates),
            encounters=h.encounters,
            same_household=h.person_id in household,
        )
        for h in hits
        if h.person_id in persons
    ]
    resident_rows = [
        row(BUILDING, persons[pid], same_household=pid in household)
        for pid in residents
        if pid in persons
    ]
    return TraceResult(
        subject=person,
        entry_pass=entry_pass,
        subject_events=own,
        building=building,
        gate=sorted(gate_rows, key=lambda c: c.sort_key),
        residents=sorted(resident_rows, key=lambda c: (not c.same_household, c.name, c.person_id)),
        visitors=_visitor_rows(visits, persons, committees),
    )


def _visitor_rows(
    visits: list[GateVisitor], persons: dict[int, Person], committees: dict[int, Area]
) -> list[Contact]:
    """One row per visitor (a known person, or the same name and phone), with their visits."""
    rows: dict[tuple[Any, ...], Contact] = {}
    for v in visits:
        p = persons.get(v.person_id) if v.person_id is not None else None
        key: tuple[Any, ...] = ("p", p.pk) if p is not None else ("v", v.name, v.phone)
        row = rows.get(key)
        if row is None:
            area = p.area if p is not None else v.area
            row = rows[key] = Contact(
                why=VISITOR,
                person_id=p.pk if p is not None else None,
                name=p.name if p is not None else v.name,
                phone=(p.phone or v.phone) if p is not None else v.phone,
                id_number=p.id_number if p is not None else "",
                area=area,
                committee=committees.get(area.pk),
                first_at=v.time_in,
                last_at=v.time_out or v.time_in,
            )
        row.last_at = max(row.last_at or v.time_in, v.time_out or v.time_in)
        if v.area.name not in row.gates:
            row.gates.append(v.area.name)
        row.encounters += 1
    return list(rows.values())


def trace_of(tb: TraceBack) -> TraceResult:
    """The result of a stored trace-back, computed again from its subject and window."""
    return trace(
        tb.person,
        entry_pass=tb.entry_pass,
        start=tb.window_start,
        end=tb.window_end,
        gap=dt.timedelta(minutes=tb.gap_minutes),
    )


# --------------------------------------------------------------------------- reading


def tracebacks_visible_to(actor: Any) -> QuerySet[TraceBack]:
    """Trace-backs of subjects in the actor's territory, newest first."""
    return (
        TraceBack.objects.visible_to(actor)
        .select_related("area", "person", "entry_pass", "requested_by")
        .order_by("-requested_at", "-pk")
    )


def traceback_for(actor: Any, pk: int) -> TraceBack:
    """One trace-back the actor may open: its subject in their territory, under a role that
    runs trace-backs there (OutOfScope, shown as "not found", otherwise)."""
    tb = (
        tracebacks_visible_to(actor)
        .select_related("person__area", "person__household__area", "entry_pass__area")
        .filter(pk=pk)
        .first()
    )
    if tb is None or not actor.can_at("traceback.run", tb.area.path):
        raise OutOfScope()
    return tb


def present(actor: Any, contact: Contact) -> dict[str, Any]:
    """A contact as this actor may see it. Identity numbers and phones are masked by role
    (core.masking); a contact living outside the actor's territory is shown masked whatever
    the role: their own committee gets the follow-up with the full record."""
    place = contact.area
    known = contact.person_id is not None
    inside = place is not None and covers(actor, place.path)
    return {
        "why": contact.why,
        "person_id": contact.person_id,
        "name": contact.name if inside else masking.mask_name(contact.name),
        "phone": masking.phone_for(actor, contact.phone)
        if inside
        else masking.mask_phone(contact.phone),
        "id_number": masking.id_number_for(actor, contact.id_number)
        if inside
        else masking.mask_id_number(contact.id_number),
        # Where they live; an unidentified visitor's place is only the gate they came by.
        "area_code": place.code if place is not None and known else "",
        "area_name": place.name if place is not None and known else "",
        "committee_code": contact.committee.code if contact.committee is not None else "",
        "committee_name": contact.committee.name if contact.committee is not None else "",
        "first_at": contact.first_at,
        "last_at": contact.last_at,
        "gates": list(contact.gates),
        "encounters": contact.encounters,
        "same_household": contact.same_household,
        "in_scope": inside,
    }
