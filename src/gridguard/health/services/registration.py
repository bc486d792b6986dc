"""Traveller registration (P2): one path for the public form, checkpoint devices and staff.

A registration is checked field by field before anything is written (every bad field is
reported at once), placed at the destination compound by its address (or parked at the
deepest area found, in the street's queue), linked to the one person with that identity, and,
for a key-area arrival or declared symptoms, pushed to the destination committee as a
follow-up task. The same submission twice (a double tap, a device retry) is one registration.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock, context, leansql
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import PublicActor, require_in_scope
from gridguard.health import travel
from gridguard.health.models import (
    Channel,
    FollowUpKind,
    MatchStatus,
    RegistrationIntake,
    Transport,
    TravellerRegistration,
)
from gridguard.health.services.followups import responsible_committee
from gridguard.people.identity import check_identity, check_phone
from gridguard.people.models import Person
from gridguard.people.signals import announce
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

# How far back an arrival may be declared (older ones are history, not arrivals).
MAX_ARRIVAL_AGE_DAYS = 60
FEVER_FROM = Decimal("37.3")
# Receipt codes: no 0/O, 1/I/L, so a code read out over the phone is typed right.
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


PUBLIC_FORM = PublicActor("public:traveller-form")


@dataclass
class Declaration:
    """What a traveller declares, as typed (strings from forms, or JSON values from devices)."""

    id_type: str = "resident_id"
    id_number: str = ""
    name: str = ""
    phone: str = ""
    origin_province: str = ""
    origin_city: str = ""
    route: str = ""
    transport: str = ""
    vehicle_number: str = ""
    arrival_date: Any = None
    destination_address: str = ""
    symptoms: list[str] = field(default_factory=list)
    temperature: Any = None
    contact_history: bool = False
    contact_detail: str = ""


@dataclass(frozen=True)
class _Checked:
    id_type: str
    id_number: str
    name: str
    phone: str
    origin_province: str
    origin_city: str
    route: str
    transport: str
    vehicle_number: str
    arrival_date: dt.date
    destination_address: str
    symptoms: list[str]
    temperature: Decimal | None
    contact_history: bool
    contact_detail: str
    # From the ID number (resident ID cards carry them).
    birth_date: dt.date | None = None
    sex: str = "unknown"


def _text(errors: list[FieldError], name: str, value: Any, limit: int, *, required: bool) -> str:
    text = " ".join(str(value or "").split())
    if not text.isprintable():
        errors.append(
            FieldError(name, "invalid", _("This field contains characters that are not allowed."))
        )
        return ""
    if required and not text:
        errors.append(FieldError(name, "required", _("This field is required.")))
    elif len(text) > limit:
        errors.append(FieldError(name, "too_long", _("At most %(n)d characters.") % {"n": limit}))
    return text


def _date(errors: list[FieldError], value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str) and value.strip():
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            errors.append(FieldError("arrival_date", "invalid", _("Enter the date as YYYY-MM-DD.")))
            return None
    if not isinstance(value, dt.date):
        errors.append(FieldError("arrival_date", "required", _("The arrival date is required.")))
        return None
    today = clock.today()
    if value > today:
        errors.append(
            FieldError("arrival_date", "future", _("The arrival date cannot be in the future."))
        )
    elif value < today - dt.timedelta(days=MAX_ARRIVAL_AGE_DAYS):
        errors.append(
            FieldError(
                "arrival_date",
                "too_old",
                _("Arrivals more than %(n)d days ago are not registered here.")
                % {"n": MAX_ARRIVAL_AGE_DAYS},
            )
        )
    return value


def check_temperature(value: Any, *, field_name: str = "temperature") -> Decimal | None:
    """A body temperature in 34.0 to 42.5 °C with one decimal, or None when not given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        t = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise InvalidInput.one(
            field_name, "invalid", _("Enter the temperature in °C, for example 36.5.")
        ) from None
    if not t.is_finite() or not (
        Decimal(str(travel.MIN_TEMPERATURE)) <= t <= Decimal(str(travel.MAX_TEMPERATURE))
    ):
        raise InvalidInput.one(
            field_name,
            "out_of_range",
            _("A body temperature is between %(lo)s and %(hi)s °C; check the reading.")
            % {"lo": travel.MIN_TEMPERATURE, "hi": travel.MAX_TEMPERATURE},
        )
    return t


def check_declaration(d: Declaration) -> _Checked:
    """Every field checked; raises InvalidInput with every bad field at once."""
    errors: list[FieldError] = []
    id_type, id_number = d.id_type, d.id_number
    birth_date: dt.date | None = None
    sex = "unknown"
    try:
        identity = check_identity(d.id_type, d.id_number)
        id_type, id_number = identity.id_type, identity.id_number
        birth_date, sex = identity.birth_date, identity.sex
    except InvalidInput as exc:
        errors.extend(exc.errors)
    name = _text(errors, "name", d.name, 60, required=True)
    phone = ""
    try:
        phone = check_phone(d.phone)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    province = travel.normalise_province(d.origin_province)
    if province is None:
        errors.append(
            FieldError(
                "origin_province",
                "required" if not str(d.origin_province or "").strip() else "invalid",
                _("Choose the province (or municipality) you came from."),
            )
        )
    origin_city = _text(errors, "origin_city", d.origin_city, 30, required=False)
    route = _text(errors, "route", d.route, 255, required=False)
    transport = str(d.transport or "").strip()
    if transport not in Transport.values:
        errors.append(FieldError("transport", "invalid", _("Choose how you travelled.")))
    vehicle = _text(errors, "vehicle_number", d.vehicle_number, 20, required=False).upper()
    vehicle = vehicle.replace(" ", "").replace("-", "").replace("·", "")
    pattern = travel.VEHICLE_PATTERNS.get(transport)
    if pattern is not None and not vehicle:
        errors.append(
            FieldError(
                "vehicle_number",
                "required",
                _("Enter the plate, train or flight number."),
            )
        )
    elif pattern is not None and not pattern.match(vehicle):
        errors.append(
            FieldError(
                "vehicle_number",
                "invalid",
                _("“%(v)s” is not a valid plate, train or flight number for this transport.")
                % {"v": vehicle},
            )
        )
    arrival = _date(errors, d.arrival_date)
    destination = _text(errors, "destination_address", d.destination_address, 255, required=True)
    symptoms = [str(s) for s in (d.symptoms or [])]
    unknown = [s for s in symptoms if s not in travel.SYMPTOMS]
    if unknown:
        errors.append(
            FieldError("symptoms", "invalid", _("Unknown symptom: %(s)s.") % {"s": unknown[0]})
        )
    temperature = None
    try:
        temperature = check_temperature(d.temperature)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    contact_detail = _text(errors, "contact_detail", d.contact_detail, 255, required=False)
    if errors:
        raise InvalidInput(errors)
    assert province is not None and arrival is not None
    return _Checked(
        id_type=id_type,
        id_number=id_number,
        name=name,
        phone=phone,
        origin_province=province,
        origin_city=origin_city,
        route=route,
        transport=transport,
        vehicle_number=vehicle,
        arrival_date=arrival,
        destination_address=destination,
        symptoms=sorted(set(symptoms)),
        temperature=temperature,
        contact_history=bool(d.contact_history),
        contact_detail=contact_detail,
        birth_date=birth_date,
        sex=sex,
    )


def _receipt_code() -> str:
    return "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(10))


def _check_key(submission_key: str) -> str:
    key = (submission_key or "").strip()
    if not key or len(key) > 64 or not key.isprintable():
        raise InvalidInput.one(
            "submission_key",
            "invalid",
            _("Each submission needs its own key of 1 to 64 characters."),
        )
    return key


def _json_of(c: _Checked) -> dict[str, Any]:
    """The checked declaration as JSON (what the intake queue keeps)."""
    data = dict(c.__dict__)
    data["arrival_date"] = c.arrival_date.isoformat()
    data["temperature"] = str(c.temperature) if c.temperature is not None else None
    data["birth_date"] = c.birth_date.isoformat() if c.birth_date else None
    return data


def accept_registration(
    actor: Any,
    declaration: Declaration,
    *,
    submission_key: str,
    channel: str = Channel.PUBLIC_FORM,
    checkpoint: Area | None = None,
    language: str = "",
) -> tuple[RegistrationIntake, bool]:
    """Check a declaration and keep it durably in the intake queue; returns (intake, created).

    This is all a busy checkpoint waits for: one insert, then the receipt. `process_intake`
    places it (person, registration, flag, follow-up task) within seconds. The same
    `submission_key` again returns the first intake row and writes nothing.
    """
    key = _check_key(submission_key)
    try:
        c = check_declaration(declaration)
    except InvalidInput:
        # A retry of a submission already kept is answered with it, even if the declaration
        # would no longer pass (an arrival date that is now too old).
        existing = RegistrationIntake.objects.filter(submission_key=key).first()
        if existing is not None:
            return existing, False
        raise
    if channel not in Channel.values:
        raise InvalidInput.one("channel", "invalid", _("Unknown channel."))
    actor_id, actor_label = audit.describe_actor(actor)
    ctx = context.current()
    intake = RegistrationIntake(
        receipt_code=_receipt_code(),
        submission_key=key,
        channel=channel,
        checkpoint=checkpoint,
        actor_id=actor_id,
        actor_label=actor_label[:150],
        origin_ip=ctx.ip[:45],
        origin_channel=ctx.channel[:10],
        declaration=_json_of(c),
        language=language[:10],
    )
    try:
        # No pre-check for the key: the unique constraint decides, in one round trip. Inside a
        # caller's transaction a savepoint keeps a duplicate from breaking it.
        # One precompiled INSERT: this is the whole cost of a checkpoint's request.
        if connection.in_atomic_block:
            with transaction.atomic():
                leansql.insert(intake)
        else:
            leansql.insert(intake)
    except IntegrityError:
        # The same submission from a concurrent retry won the race: it is the registration.
        existing = RegistrationIntake.objects.filter(submission_key=key).first()
        if existing is None:
            raise
        return existing, False
    return intake, True


MAX_BATCH = 100
# How long the form waits for a worker that holds its row before answering "received".
PLACE_WAIT_SECONDS = 5.0


def accept_registrations(
    actor: Any,
    items: list[tuple[str, Declaration]],
    *,
    channel: str,
    checkpoint: Area | None = None,
) -> list[tuple[RegistrationIntake | None, bool, InvalidInput | None]]:
    """`accept_registration` for a batch (a car's passengers, a tablet back online): one
    result per item, in order, as (intake, created, error). Good items are kept even when
    others are refused; a key seen before answers with its first intake row."""
    if len(items) > MAX_BATCH:
        raise InvalidInput.one(
            "registrations",
            "too_many",
            _("At most %(n)d registrations at once.") % {"n": MAX_BATCH},
        )
    if channel not in Channel.values:
        raise InvalidInput.one("channel", "invalid", _("Unknown channel."))
    actor_id, actor_label = audit.describe_actor(actor)
    ctx = context.current()
    results: list[tuple[RegistrationIntake | None, bool, InvalidInput | None]] = []
    fresh: dict[str, RegistrationIntake] = {}
    keys: list[str | None] = []
    for raw_key, declaration in items:
        try:
            key = _check_key(raw_key)
            c = check_declaration(declaration)
        except InvalidInput as exc:
            keys.append(None)
            results.append((None, False, exc))
            continue
        keys.append(key)
        results.append((None, False, None))
        if key in fresh:
            continue
        fresh[key] = RegistrationIntake(
            receipt_code=_receipt_code(),
            submission_key=key,
            channel=channel,
            checkpoint=checkpoint,
            actor_id=actor_id,
            actor_label=actor_label[:150],
            origin_ip=ctx.ip[:45],
            origin_channel=ctx.channel[:10],
            declaration=_json_of(c),
        )
    before = set(
        RegistrationIntake.objects.filter(submission_key__in=list(fresh)).values_list(
            "submission_key", flat=True
        )
    )
    RegistrationIntake.objects.bulk_create(
        [i for k, i in fresh.items() if k not in before], ignore_conflicts=True
    )
    stored = {
        i.submission_key: i
        for i in RegistrationIntake.objects.select_related("registration__area").filter(
            submission_key__in=list(fresh)
        )
    }
    first_seen: set[str] = set()
    out: list[tuple[RegistrationIntake | None, bool, InvalidInput | None]] = []
    for maybe_key, (_i, _c, error) in zip(keys, results, strict=True):
        if error is not None or maybe_key is None:
            out.append((None, False, error))
            continue
        key = maybe_key
        intake = stored.get(key)
        created = (
            intake is not None
            and key not in before
            and key not in first_seen
            and intake.receipt_code == fresh[key].receipt_code
        )
        first_seen.add(key)
        out.append((intake, created, None))
    return out


def register_traveller(
    actor: Any,
    declaration: Declaration,
    *,
    submission_key: str,
    channel: str = Channel.PUBLIC_FORM,
    checkpoint: Area | None = None,
    language: str = "",
) -> tuple[TravellerRegistration, bool]:
    """Accept and place one arrival at once (the public form and staff, who are shown where
    it landed); returns (registration, created). The same `submission_key` again returns the
    first registration."""
    intake, created = accept_registration(
        actor,
        declaration,
        submission_key=submission_key,
        channel=channel,
        checkpoint=checkpoint,
        language=language,
    )
    if intake.registration_id is None:
        from gridguard.health.services.intake import process_intake

        # A worker may hold this row in its batch (SKIP LOCKED passes it over): wait for it.
        deadline = time.monotonic() + PLACE_WAIT_SECONDS
        while True:
            process_intake(ids=[intake.pk])
            intake.refresh_from_db(fields=["registration", "problem"])
            if intake.registration_id is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    if intake.registration is None:
        # Kept, not placed yet: the worker places it; the code finds it meanwhile.
        raise InvalidInput.one(
            None,
            "pending",
            _("Your registration was received; its receipt code is %(c)s.")
            % {"c": intake.receipt_code},
        )
    return intake.registration, created


def follow_up_kinds(reg: TravellerRegistration) -> list[tuple[str, str]]:
    """The follow-up tasks a registration needs: (kind, summary for the committee)."""
    kinds: list[tuple[str, str]] = []
    if reg.from_key_area:
        kinds.append(
            (
                FollowUpKind.KEY_AREA_ARRIVAL,
                _("%(name)s arrived on %(day)s from %(origin)s (key area)")
                % {
                    "name": reg.name,
                    "day": reg.arrival_date.isoformat(),
                    "origin": reg.origin_province + reg.origin_city,
                },
            )
        )
    if reg.symptoms or (reg.temperature is not None and reg.temperature >= FEVER_FROM):
        kinds.append(
            (
                FollowUpKind.SYMPTOMS_DECLARED,
                _("%(name)s declared symptoms or a temperature at registration")
                % {"name": reg.name},
            )
        )
    return kinds


def assign_registration(
    actor: Any, reg: TravellerRegistration, compound: Area
) -> TravellerRegistration:
    """Place an unmatched registration at a compound (the street's queue). Its person moves
    there, and its follow-ups move to that compound's committee."""
    if not actor.can("travellers.assign"):
        from gridguard.core.errors import NotPermitted

        raise NotPermitted()
    require_in_scope(actor, reg.area)
    if compound.kind not in (AreaKind.COMPOUND, AreaKind.BUILDING):
        raise InvalidInput.one("compound", "invalid", _("Choose a compound."))
    require_in_scope(actor, compound)
    with transaction.atomic():
        reg = TravellerRegistration.objects.select_for_update().get(pk=reg.pk)
        if reg.match_status == MatchStatus.MATCHED:
            raise InvalidInput.one(
                "compound", "matched", _("This registration is already placed at a compound.")
            )
        before = reg.area.code
        reg.area = compound
        reg.match_status = MatchStatus.ASSIGNED
        reg.assigned_by = actor if getattr(actor, "pk", None) else None
        reg.assigned_at = clock.now()
        reg.save(update_fields=["area", "match_status", "assigned_by", "assigned_at"])
        Person.objects.filter(pk=reg.person_id).update(area=compound, updated_at=clock.now())
        from gridguard.health.models import FollowUpStatus, FollowUpTask

        FollowUpTask.objects.filter(
            source__startswith=f"reg:{reg.pk}:", status=FollowUpStatus.OPEN
        ).update(area=responsible_committee(compound))
        audit.record(
            actor,
            "registration.assign",
            reg,
            detail={"from": before, "to": compound.code},
        )
        announce(Person, reg.person_id)
    return reg
