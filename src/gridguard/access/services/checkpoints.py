"""Checkpoints (A3): setting one up at a territory place, and recording the checks made there.

A check is one vehicle (or a traveller on foot): its plate, where it comes from, how many
travellers, how many with a fever, what was decided, and the registration receipts the
travellers showed (the receipt of the traveller health registration, P2), scanned or typed.
Each write is one transaction with one audit row; bad input raises InvalidInput naming every
bad field and writes nothing. A check may carry a `submission_key` (the device's or the form's own
id for it): a resend after a timeout, or a double tap, answers with the first check and writes
nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gridguard.access.models import CheckOutcome, Checkpoint, CheckpointCheck, CheckpointKind
from gridguard.access.services import inputs
from gridguard.access.services.gates import check_submission_key, save_once, submitted_before
from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.health.models import RegistrationIntake, TravellerRegistration
from gridguard.health.services.intake import process_intake
from gridguard.health.travel import normalise_province
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area

MAX_TRAVELLERS = 99
MAX_RECEIPTS = 60
_RECEIPT = re.compile(r"^[A-Z0-9]{4,16}$")
_SPLIT = re.compile(r"[\s,;，；、]+")


def set_up_checkpoint(actor: Any, area: Any, *, kind: Any, active: Any = True) -> Checkpoint:
    """Make a territory place of kind "checkpoint" a working checkpoint, or change its kind or
    whether it is active (permission checkpoint.manage over the place)."""
    if not isinstance(area, Area) or area.kind != AreaKind.CHECKPOINT:
        raise InvalidInput.one("area", "not_a_checkpoint", _("Choose a checkpoint place."))
    require_permission_at(actor, "checkpoint.manage", area)
    if str(kind or "") not in CheckpointKind.values:
        raise InvalidInput.one(
            "kind", "invalid", _("Choose road, railway station, airport or port.")
        )
    with transaction.atomic():
        checkpoint, created = Checkpoint.objects.select_for_update().get_or_create(
            area=area, defaults={"kind": str(kind), "active": bool(active)}
        )
        if not created:
            checkpoint.kind, checkpoint.active = str(kind), bool(active)
            checkpoint.save(update_fields=["kind", "active"])
        audit.record(
            actor,
            "checkpoint.set_up" if created else "checkpoint.change",
            checkpoint,
            detail={"kind": checkpoint.kind, "active": checkpoint.active},
        )
    return checkpoint


def receipt_codes(value: Any) -> list[str]:
    """The codes in what was scanned or typed (one per line, or separated by spaces or
    commas), upper-case, each once, in the order given."""
    if value is None:
        return []
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    seen: dict[str, None] = {}
    for item in items:
        for part in _SPLIT.split(str(item or "")):
            code = part.strip().upper()
            if code:
                seen.setdefault(code, None)
    return list(seen)


def _registrations(codes: list[str]) -> tuple[list[TravellerRegistration], list[FieldError]]:
    """The registrations of the receipt codes; an error names each unknown code.

    A registration sent from a busy checkpoint may still wait in the intake queue (its receipt
    is given before it is placed): it is placed now, so the check can link it.
    """
    errors: list[FieldError] = []
    if len(codes) > MAX_RECEIPTS:
        return [], [FieldError("receipt_codes", "too_many", _("Scan at most 60 receipts."))]
    bad = [c for c in codes if not _RECEIPT.match(c)]
    found = {
        r.receipt_code: r
        for r in TravellerRegistration.objects.filter(
            receipt_code__in=[c for c in codes if c not in bad]
        )
    }
    waiting = [c for c in codes if c not in found and c not in bad]
    if waiting:
        queued = list(
            RegistrationIntake.objects.filter(
                receipt_code__in=waiting, processed_at__isnull=True
            ).values_list("pk", flat=True)
        )
        if queued:
            process_intake(ids=queued, limit=len(queued))
            found.update(
                (r.receipt_code, r)
                for r in TravellerRegistration.objects.filter(receipt_code__in=waiting)
            )
    for code in codes:
        if code not in found:
            errors.append(
                FieldError(
                    "receipt_codes",
                    "unknown",
                    _("No registration has the receipt code “%(c)s”.") % {"c": code[:20]},
                )
            )
    return [found[c] for c in codes if c in found], errors


def _check_errors(
    *,
    plate: Any,
    origin_province: Any,
    origin_city: Any,
    passengers: Any,
    fever_count: Any,
    outcome: Any,
    note: Any,
    checked_at: Any,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Every field checked at once, so the form shows all its mistakes together."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}
    clean["plate"], bad = inputs.parse_plate(plate, required=False)
    errors += bad
    province_text = str(origin_province or "").strip()
    clean["origin_province"] = normalise_province(province_text) if province_text else ""
    if clean["origin_province"] is None:
        errors.append(
            FieldError(
                "origin_province",
                "unknown",
                _("“%(v)s” is not a province.") % {"v": province_text[:20]},
            )
        )
    clean["origin_city"], bad = inputs.parse_text(origin_city, "origin_city", 40, required=False)
    errors += bad
    clean["passengers"], bad = inputs.parse_int(
        passengers, "passengers", 1, MAX_TRAVELLERS, default=1
    )
    errors += bad
    clean["fever_count"], bad_fever = inputs.parse_int(
        fever_count, "fever_count", 0, MAX_TRAVELLERS, default=0
    )
    errors += bad_fever
    if not bad and not bad_fever and clean["fever_count"] > clean["passengers"]:
        errors.append(
            FieldError(
                "fever_count",
                "more_than_travellers",
                _("More with a fever than travellers checked."),
            )
        )
    clean["outcome"] = str(outcome or CheckOutcome.CLEARED)
    if clean["outcome"] not in CheckOutcome.values:
        errors.append(FieldError("outcome", "invalid", _("Choose what was decided.")))
    elif clean["outcome"] == CheckOutcome.CLEARED and not bad_fever and clean["fever_count"]:
        errors.append(
            FieldError(
                "outcome",
                "fever_cleared",
                _("A traveller with a fever cannot be cleared: refer or turn back."),
            )
        )
    clean["note"], bad = inputs.parse_text(note, "note", 255, required=False)
    errors += bad
    clean["checked_at"], bad = inputs.parse_time(checked_at, "checked_at")
    errors += bad
    return clean, errors


def record_check(
    actor: Any,
    checkpoint: Checkpoint,
    *,
    plate: Any = "",
    origin_province: Any = "",
    origin_city: Any = "",
    passengers: Any = 1,
    fever_count: Any = 0,
    outcome: Any = CheckOutcome.CLEARED,
    note: Any = "",
    receipt_codes: Any = None,
    checked_at: Any = None,
    submission_key: Any = None,
) -> CheckpointCheck:
    """Record one check at `checkpoint` (permission checkpoint.record there) and link the
    registrations whose receipt codes were scanned. Without an origin, the first receipt's
    origin is used.

    The same `submission_key` again returns the first check and writes nothing (even when the
    checkpoint was closed in between: the check was made while it was open).
    """
    if not isinstance(checkpoint, Checkpoint):
        raise InvalidInput.one("checkpoint", "unknown", _("Choose a checkpoint."))
    require_permission_at(actor, "checkpoint.record", checkpoint.area)
    key = check_submission_key(submission_key)
    existing = submitted_before(CheckpointCheck, key)
    if existing is not None:
        return _same_checkpoint(existing, checkpoint)
    if not checkpoint.active:
        raise InvalidInput.one("checkpoint", "inactive", _("This checkpoint is closed."))
    clean, errors = _check_errors(
        plate=plate,
        origin_province=origin_province,
        origin_city=origin_city,
        passengers=passengers,
        fever_count=fever_count,
        outcome=outcome,
        note=note,
        checked_at=checked_at,
    )
    codes = _codes_or_error(receipt_codes, errors)
    regs, bad = _registrations(codes)
    errors += bad
    if (
        not bad
        and not any(e.field == "passengers" for e in errors)
        and len(regs) > clean["passengers"]
    ):
        errors.append(
            FieldError(
                "receipt_codes",
                "more_than_travellers",
                _("%(n)d receipts for %(m)d travellers.")
                % {"n": len(regs), "m": clean["passengers"]},
            )
        )
    if errors:
        raise InvalidInput(errors)
    if regs and not clean["origin_province"]:
        clean["origin_province"] = regs[0].origin_province[:40]
        clean["origin_city"] = clean["origin_city"] or regs[0].origin_city[:40]
    check = CheckpointCheck(
        area_id=checkpoint.area_id,
        checkpoint=checkpoint,
        checked_at=clean.pop("checked_at") or clock.now(),
        recorded_by=audit.describe_actor(actor)[1][:150],
        submission_key=key,
        **clean,
    )

    def links_and_audit() -> None:
        if regs:
            check.registrations.add(*regs)
        audit.record(
            actor,
            "checkpoint.check",
            check,
            area_path=checkpoint.area.path,
            detail={
                "plate": check.plate,
                "travellers": check.passengers,
                "fever": check.fever_count,
                "outcome": check.outcome,
                "receipts": [r.receipt_code for r in regs],
            },
        )

    earlier = save_once(check, key, links_and_audit)
    # A resend that raced this one: the first one's check is the answer.
    return check if earlier is None else _same_checkpoint(earlier, checkpoint)


def _same_checkpoint(check: CheckpointCheck, checkpoint: Checkpoint) -> CheckpointCheck:
    if check.checkpoint_id != checkpoint.pk:
        raise InvalidInput.one(
            "submission_key", "reused", _("This submission key belongs to another checkpoint.")
        )
    return check


def _codes_or_error(value: Any, errors: list[FieldError]) -> list[str]:
    try:
        return receipt_codes(value)
    except TypeError:
        errors.append(
            FieldError("receipt_codes", "invalid", _("Give the receipt codes as text or a list."))
        )
        return []
