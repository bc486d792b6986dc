"""Visitors and vehicles registered at a gate (A2).

A gate volunteer writes down who comes in that is not a resident: the visitor's name and phone,
the household they visit, why, their temperature, and when they leave; and the vehicles that
come in with their driver and passengers. A fever (37.3 °C or more) keeps a visitor or a vehicle
out: the record is kept, `admitted` is False, and the verdict says why.

Each write is one transaction with one audit row; bad input raises InvalidInput naming every bad
field and writes nothing. A device or a phone form may send a `submission_key` (its own id for
the submission): a resend after a timeout, or a double tap, answers with the first row and
writes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from gridguard.access.models import GateVehicle, GateVisitor, VehicleDirection
from gridguard.access.services import inputs
from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.people.models import Household
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

PERMISSION = "gate.scan"
MAX_PASSENGERS = 60  # a coach
MAX_KEY = 64

Submitted = TypeVar("Submitted", bound=models.Model)


@dataclass(frozen=True)
class Verdict:
    """What the volunteer is told after registering: let in or not, and why."""

    admitted: bool
    message: str


def check_gate(gate: Any, field: str = "gate") -> Area:
    """`gate` if it is a gate; InvalidInput naming `field` otherwise."""
    if not isinstance(gate, Area) or gate.kind != AreaKind.GATE:
        raise InvalidInput.one(field, "not_a_gate", _("Choose a gate."))
    return gate


def check_submission_key(value: Any) -> str | None:
    """The submission key given (None when none was); InvalidInput when it is too long."""
    key = str(value or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY:
        raise InvalidInput.one(
            "submission_key",
            "too_long",
            _("The submission key has more than 64 characters."),
        )
    return key


def submitted_before(model: type[Submitted], key: str | None) -> Submitted | None:
    """The row an earlier submission with `key` made, if any."""
    if key is None:
        return None
    return model._default_manager.filter(submission_key=key).first()


def save_once(record: Submitted, key: str | None, then: Callable[[], Any]) -> Submitted | None:
    """Insert `record` and run `then` (its audit row, its links) in one transaction. When a
    resend with the same submission key won the race, nothing of ours is kept and the first
    submission's row is returned; None means ours was written."""
    try:
        with transaction.atomic():
            with transaction.atomic():  # a savepoint: the unique key may refuse the insert
                record.save(force_insert=True)
            then()
    except IntegrityError:
        existing = submitted_before(type(record), key)
        if existing is None:
            raise
        return existing
    return None


def _same_gate(record: Submitted, gate: Area) -> Submitted:
    if getattr(record, "area_id", None) != gate.pk:
        raise InvalidInput.one(
            "submission_key", "reused", _("This submission key belongs to another gate.")
        )
    return record


def _actor_label(actor: Any) -> str:
    return audit.describe_actor(actor)[1][:150]


def _host(gate: Area, value: Any) -> tuple[Household | None, list[FieldError]]:
    """The host household, which must live in the gate's compound; required at compounds."""
    place = gate.parent
    residential = place is not None and place.kind == AreaKind.COMPOUND
    if isinstance(value, Household):
        pk: Any = value.pk
    else:
        pk = str(value or "").strip()
    if not pk:
        if residential:
            return None, [
                FieldError("host_household", "required", _("Choose the household being visited."))
            ]
        return None, []
    found = None
    if place is not None and str(pk).isdigit():
        found = Household.objects.filter(pk=int(pk), area__path__startswith=place.path).first()
    if found is None:
        return None, [
            FieldError(
                "host_household",
                "unknown",
                _("This household does not live behind this gate."),
            )
        ]
    return found, []


def verdict_of(record: GateVisitor | GateVehicle) -> Verdict:
    """The verdict of a registered visitor or vehicle, as the volunteer is told it."""
    if record.admitted:
        return Verdict(True, _("Admitted."))
    temps = [record.temperature] if record.temperature is not None else []
    if isinstance(record, GateVehicle):
        temps += [
            Decimal(str(p["temperature"])) for p in record.passenger_list if p.get("temperature")
        ]
    hottest = max((t for t in temps if t is not None), default=None)
    return Verdict(
        False,
        _(
            "Not admitted: fever (%(t)s °C). Ask them to wear a mask and go to a fever clinic; "
            "tell the committee."
        )
        % {"t": hottest},
    )


def register_visitor(
    actor: Any,
    gate: Area,
    *,
    name: Any,
    phone: Any,
    purpose: Any,
    host_household: Any = None,
    temperature: Any = None,
    time_in: Any = None,
    submission_key: Any = None,
) -> GateVisitor:
    """Register a visitor at `gate` (permission gate.scan there). A fever keeps them out:
    the visitor is saved with `admitted` False (see `verdict_of`).

    The same `submission_key` again returns the first visitor and writes nothing.
    """
    check_gate(gate)
    require_permission_at(actor, PERMISSION, gate)
    key = check_submission_key(submission_key)
    existing = submitted_before(GateVisitor, key)
    if existing is not None:
        return _same_gate(existing, gate)
    errors: list[FieldError] = []
    clean_name, bad = inputs.parse_text(
        name, "name", 60, required=True, message=_("Enter the visitor's name.")
    )
    errors += bad
    clean_phone, bad = inputs.parse_phone(phone, "phone", required=True)
    errors += bad
    clean_purpose, bad = inputs.parse_text(
        purpose, "purpose", 120, required=True, message=_("Say why they come.")
    )
    errors += bad
    host, bad = _host(gate, host_household)
    errors += bad
    temp, bad = inputs.parse_temperature(temperature)
    errors += bad
    when, bad = inputs.parse_time(time_in, "time_in")
    errors += bad
    if errors:
        raise InvalidInput(errors)
    admitted = not inputs.fever(temp)
    visitor = GateVisitor(
        area=gate,
        name=clean_name,
        phone=clean_phone,
        host_household=host,
        purpose=clean_purpose,
        time_in=when or clock.now(),
        temperature=temp,
        admitted=admitted,
        recorded_by=_actor_label(actor),
        submission_key=key,
    )
    earlier = save_once(
        visitor,
        key,
        lambda: audit.record(
            actor,
            "gate.visitor",
            visitor,
            detail={"admitted": admitted, "host_household": host.pk if host else None},
        ),
    )
    # A resend that raced this one: the first one's visitor is the answer.
    return visitor if earlier is None else _same_gate(earlier, gate)


def visitor_out(actor: Any, visitor: GateVisitor, *, time_out: Any = None) -> GateVisitor:
    """Write down when an admitted visitor left (permission gate.scan at their gate)."""
    require_permission_at(actor, PERMISSION, visitor.area)
    when, errors = inputs.parse_time(time_out, "time_out")
    if errors:
        raise InvalidInput(errors)
    if not visitor.admitted:
        raise InvalidInput.one("time_out", "not_admitted", _("This visitor was not let in."))
    if visitor.time_out is not None:
        raise InvalidInput.one("time_out", "already_out", _("This visitor has already left."))
    when = when or clock.now()
    if when < visitor.time_in:
        raise InvalidInput.one("time_out", "before_in", _("The time out is before the time in."))
    with transaction.atomic():
        # Only a visitor still inside is updated, so two volunteers pressing "out" at once
        # write one time.
        changed = GateVisitor.objects.filter(pk=visitor.pk, time_out__isnull=True).update(
            time_out=when
        )
        if not changed:
            raise InvalidInput.one("time_out", "already_out", _("This visitor has already left."))
        visitor.time_out = when
        audit.record(actor, "gate.visitor_out", visitor)
    return visitor


def _passenger_list(value: Any) -> tuple[list[dict[str, Any]], list[Decimal | None], list]:
    """[{"name", "temperature"}] as given by the API or the form; errors name the row."""
    if value in (None, "", []):
        return [], [], []
    if not isinstance(value, list | tuple) or len(value) > MAX_PASSENGERS:
        return [], [], [FieldError("passenger_list", "invalid", _("List at most 60 passengers."))]
    rows: list[dict[str, Any]] = []
    temps: list[Decimal | None] = []
    errors: list[FieldError] = []
    for i, item in enumerate(value, start=1):
        item = item if isinstance(item, dict) else {"name": item}
        name, bad = inputs.parse_text(
            item.get("name"), f"passenger_list.{i}.name", 60, required=True
        )
        errors += bad
        t, bad = inputs.parse_temperature(
            item.get("temperature"), f"passenger_list.{i}.temperature"
        )
        errors += bad
        temps.append(t)
        rows.append({"name": name, "temperature": str(t) if t is not None else None})
    return rows, temps, errors


def register_vehicle(
    actor: Any,
    gate: Area,
    *,
    plate: Any,
    driver_name: Any,
    driver_phone: Any = "",
    passengers: Any = None,
    passenger_list: Any = None,
    purpose: Any = "",
    temperature: Any = None,
    direction: Any = VehicleDirection.IN,
    at: Any = None,
    submission_key: Any = None,
) -> GateVehicle:
    """Register a vehicle at `gate` (permission gate.scan there). A driver or passenger with a
    fever keeps the vehicle out (`admitted` False).

    The same `submission_key` again returns the first vehicle and writes nothing.
    """
    check_gate(gate)
    require_permission_at(actor, PERMISSION, gate)
    key = check_submission_key(submission_key)
    existing = submitted_before(GateVehicle, key)
    if existing is not None:
        return _same_gate(existing, gate)
    errors: list[FieldError] = []
    clean_plate, bad = inputs.parse_plate(plate)
    errors += bad
    driver, bad = inputs.parse_text(
        driver_name, "driver_name", 60, required=True, message=_("Enter the driver's name.")
    )
    errors += bad
    phone, bad = inputs.parse_phone(driver_phone, "driver_phone", required=False)
    errors += bad
    rows, temps, bad = _passenger_list(passenger_list)
    errors += bad
    count, bad = inputs.parse_int(passengers, "passengers", 0, MAX_PASSENGERS, default=len(rows))
    errors += bad
    if not bad and len(rows) > count:
        errors.append(
            FieldError(
                "passengers",
                "fewer_than_listed",
                _("%(n)d passengers are listed by name.") % {"n": len(rows)},
            )
        )
    clean_purpose, bad = inputs.parse_text(purpose, "purpose", 120, required=False)
    errors += bad
    temp, bad = inputs.parse_temperature(temperature)
    errors += bad
    way = str(direction or VehicleDirection.IN)
    if way not in VehicleDirection.values:
        errors.append(FieldError("direction", "invalid", _("Choose in or out.")))
    when, bad = inputs.parse_time(at, "at")
    errors += bad
    if errors:
        raise InvalidInput(errors)
    # Only who comes in is kept out for a fever; a vehicle leaving is just written down.
    admitted = way == VehicleDirection.OUT or not inputs.fever(temp, *temps)
    vehicle = GateVehicle(
        area=gate,
        plate=clean_plate,
        direction=way,
        driver_name=driver,
        driver_phone=phone,
        passengers=count,
        passenger_list=rows,
        purpose=clean_purpose,
        temperature=temp,
        at=when or clock.now(),
        admitted=admitted,
        recorded_by=_actor_label(actor),
        submission_key=key,
    )
    earlier = save_once(
        vehicle,
        key,
        lambda: audit.record(
            actor,
            "gate.vehicle",
            vehicle,
            detail={"plate": clean_plate, "direction": way, "admitted": admitted},
        ),
    )
    # A resend that raced this one: the first one's vehicle is the answer.
    return vehicle if earlier is None else _same_gate(earlier, gate)
