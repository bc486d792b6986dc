"""Pharmacies: fever-medicine purchases (P5); mask reservations (P6) live in
`pharmacy_masks` and are re-exported here, so callers import one module.

Each write is one transaction and one audit row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.health.models import FeverMedicinePurchase, FollowUpKind
from gridguard.health.services.followups import open_followup, responsible_committee
from gridguard.health.services.pharmacy_checks import (
    check_key,
    check_pharmacy,
    parse_int,
    parse_temperature,
    require,
)
from gridguard.health.services.pharmacy_masks import (
    CODE_ALPHABET,
    CODE_LENGTH,
    RESERVE_AHEAD_DAYS,
    cancel,
    expire_uncollected,
    new_code,
    normalise_code,
    open_day,
    person_used,
    pickup,
    reserve_masks,
    set_outlet,
)
from gridguard.people.identity import check_identity, check_phone
from gridguard.people.models import KeyCategory, Person
from gridguard.people.services import add_flag, register_person
from gridguard.people.signals import announce
from gridguard.territory.address_match import match_address
from gridguard.territory.models import Area

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "RESERVE_AHEAD_DAYS",
    "cancel",
    "expire_uncollected",
    "new_code",
    "normalise_code",
    "open_day",
    "person_used",
    "pickup",
    "register_purchase",
    "reserve_masks",
    "set_outlet",
]

FLAG_DAYS = 14
MAX_QUANTITY = 20


def _purchase_errors(
    id_type: str,
    id_number: str,
    name: str,
    phone: str,
    medicine: str,
    quantity: Any,
    temperature: Any,
    buyer_address: str,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check every field at once, so the form can show all its mistakes together."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    try:
        clean["identity"] = check_identity(str(id_type or ""), str(id_number or ""))
    except InvalidInput as exc:
        errors += exc.errors
    clean["name"] = str(name or "").strip()
    if not clean["name"] or len(clean["name"]) > 60:
        errors.append(FieldError("name", "required", _("A name of 1 to 60 characters is needed.")))
    try:
        clean["phone"] = check_phone(str(phone or ""), required=True)
    except InvalidInput as exc:
        errors += exc.errors
    clean["medicine"] = str(medicine or "").strip()
    if not clean["medicine"] or len(clean["medicine"]) > 100:
        errors.append(
            FieldError("medicine", "required", _("Name the medicine (up to 100 characters)."))
        )
    clean["quantity"], bad = parse_int(
        quantity, "quantity", 1, MAX_QUANTITY, _("Enter a quantity from 1 to 20.")
    )
    errors += bad
    clean["temperature"], bad = parse_temperature(temperature)
    errors += bad
    clean["buyer_address"] = str(buyer_address or "").strip()
    if len(clean["buyer_address"]) > 255:
        errors.append(
            FieldError("buyer_address", "too_long", _("Keep the address under 255 characters."))
        )
    return clean, errors


def register_purchase(
    actor: Any,
    pharmacy_area: Area,
    *,
    submission_key: str,
    id_type: str,
    id_number: str,
    name: str,
    phone: str,
    medicine: str,
    quantity: Any = 1,
    temperature: Any = None,
    buyer_address: str = "",
) -> FeverMedicinePurchase:
    """Register a fever-medicine purchase at a pharmacy: the buyer becomes (or links to) a
    Person, is flagged for 14 days, and their committee gets a follow-up task.

    The same `submission_key` twice returns the first record and writes nothing.
    """
    check_pharmacy(pharmacy_area)
    require(actor, "pharmacy.record", pharmacy_area)
    key = check_key(submission_key)
    existing = FeverMedicinePurchase.objects.filter(submission_key=key).first()
    if existing is not None:
        return _same_pharmacy(existing, pharmacy_area)
    clean, errors = _purchase_errors(
        id_type, id_number, name, phone, medicine, quantity, temperature, buyer_address
    )
    if errors:
        raise InvalidInput(errors)
    try:
        return _register_purchase(actor, pharmacy_area, key, clean)
    except IntegrityError:
        # A double submit that raced this one: the first one's record is the answer.
        existing = FeverMedicinePurchase.objects.filter(submission_key=key).first()
        if existing is None:
            raise
        return _same_pharmacy(existing, pharmacy_area)


def _same_pharmacy(purchase: FeverMedicinePurchase, area: Area) -> FeverMedicinePurchase:
    if purchase.area_id != area.pk:
        raise InvalidInput.one(
            "submission_key", "reused", _("This submission key belongs to another pharmacy.")
        )
    return purchase


def _register_purchase(
    actor: Any, pharmacy: Area, key: str, clean: dict[str, Any]
) -> FeverMedicinePurchase:
    identity = clean["identity"]
    address = clean["buyer_address"]
    match = match_address(address) if address else None
    matched_home = match.area if match is not None and match.matched else None
    with transaction.atomic():
        person, _created = register_person(
            actor,
            id_type=identity.id_type,
            id_number=identity.id_number,
            name=clean["name"],
            phone=clean["phone"],
            area=matched_home or responsible_committee(pharmacy),
            address=address,
        )
        now = clock.now()
        purchase = FeverMedicinePurchase(
            area=pharmacy,
            buyer=person,
            name=clean["name"],
            id_type=identity.id_type,
            id_number=identity.id_number,
            phone=clean["phone"],
            medicine=clean["medicine"],
            quantity=clean["quantity"],
            temperature=clean["temperature"],
            buyer_address=address,
            bought_at=now,
            recorded_by=actor if getattr(actor, "pk", None) and hasattr(actor, "roles") else None,
            submission_key=key,
        )
        with transaction.atomic():
            purchase.save(force_insert=True)
        audit.record(
            actor,
            "pharmacy.purchase",
            purchase,
            detail={
                "medicine": purchase.medicine,
                "quantity": purchase.quantity,
                "fever": purchase.temperature is not None and purchase.temperature >= 37.3,
                "address_matched": matched_home is not None,
            },
        )
        source = f"purchase:{purchase.pk}"
        add_flag(
            actor,
            person,
            KeyCategory.FEVER_MEDICINE,
            source=source,
            until=now + dt.timedelta(days=FLAG_DAYS),
        )
        summary = _("Bought %(medicine)s x%(n)s at %(pharmacy)s") % {
            "medicine": purchase.medicine,
            "n": purchase.quantity,
            "pharmacy": pharmacy.name,
        }
        if purchase.temperature is not None:
            summary += f" · {purchase.temperature}°C"
        # The buyer's committee: where the address says they live, else their home on record.
        open_followup(
            actor,
            kind=FollowUpKind.FEVER_MEDICINE,
            person=person,
            area=matched_home or person.area,
            source=source,
            summary=summary,
        )
        announce(Person, person.pk)
        return purchase
