"""Health codes (P4): compute each person's colour from the rules, keep it current, and let an
administrator change the rules.

The code is the worst colour of the active rules whose fact holds; the reasons are those
rules' texts in priority order; it expires at the soonest of (computed_at + valid_hours of the
rules that hold, the facts' own ends), or 24 hours after computing for green.

Facts are evaluated SET-BASED (gridguard.health.code_facts): one query per rule for a whole
batch of persons, never a query per person. recompute_all walks the persons by primary-key
range; the (many) green persons of a batch are written with one INSERT … SELECT … ON CONFLICT,
the others with one bulk upsert.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils.translation import gettext as _

from gridguard.core import audit, clock
from gridguard.core.errors import FieldError, InvalidInput, NotPermitted
from gridguard.core.scoping import SYSTEM
from gridguard.health import code_facts
from gridguard.health.models import SEVERITY, Colour, HealthCode, HealthCodeChange, HealthCodeRule
from gridguard.people.models import Person

GREEN_HOURS = 24
DEFAULT_BATCH = 50_000


@dataclass
class CodeResult:
    colour: str
    reasons: list[dict[str, Any]]
    computed_at: dt.datetime
    expires_at: dt.datetime


def active_rules() -> list[HealthCodeRule]:
    return list(HealthCodeRule.objects.filter(active=True).order_by("priority", "code"))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _evaluate(
    rules: Sequence[HealthCodeRule], now: dt.datetime, scope: code_facts.Scope
) -> dict[int, list[tuple[HealthCodeRule, dt.datetime | None]]]:
    """For each person in scope with at least one holding rule: (rule, fact end) in rule
    order. One query per rule."""
    held: dict[int, list[tuple[HealthCodeRule, dt.datetime | None]]] = {}
    for rule in rules:
        if rule.condition not in code_facts.CONDITIONS:
            continue  # a rule saved before its condition was retired: it cannot hold
        for pid, until in code_facts.evaluate(rule.condition, rule.params, now, scope).items():
            held.setdefault(pid, []).append((rule, until))
    return held


def _result(held: list[tuple[HealthCodeRule, dt.datetime | None]], now: dt.datetime) -> CodeResult:
    worst = Colour.GREEN.value
    expires = now + dt.timedelta(hours=GREEN_HOURS)
    reasons: list[dict[str, Any]] = []
    ends: list[dt.datetime] = []
    for rule, until in held:
        if SEVERITY[Colour(rule.colour)] > SEVERITY[Colour(worst)]:
            worst = rule.colour
        reasons.append(
            {
                "rule": rule.code,
                "colour": rule.colour,
                "reason": rule.reason,
                "reason_en": rule.reason_en,
                "until": _iso(until),
            }
        )
        ends.append(now + dt.timedelta(hours=rule.valid_hours))
        if until is not None:
            ends.append(until)
    if ends:
        expires = min(ends)
    return CodeResult(colour=worst, reasons=reasons, computed_at=now, expires_at=expires)


def compute_codes(
    person_ids: Iterable[int],
    now: dt.datetime | None = None,
    rules: Sequence[HealthCodeRule] | None = None,
) -> dict[int, CodeResult]:
    """The code of each of these persons now (nothing is written)."""
    now = now or clock.now()
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rules = active_rules() if rules is None else rules
    held = _evaluate(rules, now, ids)
    return {pid: _result(held.get(pid, []), now) for pid in ids}


def _upsert(codes: dict[int, CodeResult]) -> None:
    HealthCode.objects.bulk_create(
        [
            HealthCode(
                person_id=pid,
                colour=r.colour,
                reasons=r.reasons,
                computed_at=r.computed_at,
                expires_at=r.expires_at,
            )
            for pid, r in codes.items()
        ],
        update_conflicts=True,
        unique_fields=["person"],
        update_fields=["colour", "reasons", "computed_at", "expires_at"],
        batch_size=2000,
    )


def _changes(
    old: dict[int, str], new: dict[int, CodeResult], now: dt.datetime
) -> list[HealthCodeChange]:
    """A change row for each person whose colour changed (a first code that is green is not a
    change: everyone starts green)."""
    rows = []
    for pid, r in new.items():
        before = old.get(pid, "")
        if before == r.colour or (before == "" and r.colour == Colour.GREEN):
            continue
        rows.append(
            HealthCodeChange(
                person_id=pid,
                old_colour=before,
                new_colour=r.colour,
                reasons=r.reasons,
                changed_at=now,
            )
        )
    if rows:
        HealthCodeChange.objects.bulk_create(rows, batch_size=2000)
    return rows


def recompute(person_ids: Iterable[int], now: dt.datetime | None = None) -> dict[int, CodeResult]:
    """Compute and store the codes of these persons (unknown ids are skipped)."""
    now = now or clock.now()
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    with transaction.atomic():
        ids = list(Person.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        codes = compute_codes(ids, now)
        old = dict(HealthCode.objects.filter(person_id__in=ids).values_list("person_id", "colour"))
        _upsert(codes)
        changed = _changes(old, codes, now)
        if changed:
            audit.record(
                SYSTEM,
                "healthcode.change",
                object_type="health.healthcode",
                object_id=",".join(str(c.person_id) for c in changed)[:64],
                detail={
                    "changes": [[c.person_id, c.old_colour, c.new_colour] for c in changed[:100]]
                },
            )
    return codes


def _green_upsert_sql(vendor: str) -> str:
    code_t = HealthCode._meta.db_table
    person_t = Person._meta.db_table
    if vendor == "postgresql":
        reasons, exclude = "CAST(%s AS jsonb)", "NOT (p.id = ANY(CAST(%s AS bigint[])))"
    else:
        reasons, exclude = "%s", "p.id NOT IN (SELECT value FROM json_each(%s))"
    return (
        f"INSERT INTO {code_t} (person_id, colour, reasons, computed_at, expires_at) "
        f"SELECT p.id, %s, {reasons}, %s, %s FROM {person_t} p "
        f"WHERE p.id >= %s AND p.id < %s AND {exclude} "
        "ON CONFLICT (person_id) DO UPDATE SET colour = EXCLUDED.colour, "
        "reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at, "
        "expires_at = EXCLUDED.expires_at"
    )


@dataclass
class RecomputeSummary:
    persons: int = 0
    batches: int = 0
    colours: dict[str, int] = field(default_factory=dict)
    changed: int = 0
    seconds: float = 0.0


def recompute_all(
    batch: int = DEFAULT_BATCH, now: dt.datetime | None = None, *, audit_actor: Any = SYSTEM
) -> RecomputeSummary:
    """Recompute every person's code, a batch of person ids (by pk range) at a time, each
    batch in its own transaction: each rule is one query per batch, the green persons of the
    batch one INSERT … SELECT, the others one bulk upsert."""
    started = time.perf_counter()
    now = now or clock.now()
    # The rules as they stand now: a rule changed after this moment needs another run.
    rules_as_of = HealthCodeRule.objects.aggregate(at=Max("updated_at"))["at"]
    rules = active_rules()
    summary = RecomputeSummary(colours={c: 0 for c in Colour.values})
    bounds = Person.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return summary
    vendor = connection.vendor
    sql = _green_upsert_sql(vendor)
    green_expiry = now + dt.timedelta(hours=GREEN_HOURS)
    ops = connection.ops
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        hi = lo + batch
        scope = code_facts.IdRange(lo, hi)
        with transaction.atomic():
            held = _evaluate(rules, now, scope)
            flagged = {pid: _result(h, now) for pid, h in held.items()}
            in_batch = Q(person_id__gte=lo, person_id__lt=hi)
            old = dict(
                HealthCode.objects.filter(in_batch)
                .filter(~Q(colour=Colour.GREEN) | Q(person_id__in=list(flagged)))
                .values_list("person_id", "colour")
            )
            not_green = sorted(flagged)
            ids_param: Any = not_green if vendor == "postgresql" else json.dumps(not_green)
            with connection.cursor() as cur:
                cur.execute(
                    sql,
                    [
                        Colour.GREEN.value,
                        "[]",
                        ops.adapt_datetimefield_value(now),
                        ops.adapt_datetimefield_value(green_expiry),
                        lo,
                        hi,
                        ids_param,
                    ],
                )
                n_green = cur.rowcount
            _upsert(flagged)
            # Persons that were not green and now are (no fact held) are changes too.
            turned_green = {
                pid: CodeResult(Colour.GREEN.value, [], now, green_expiry)
                for pid, colour in old.items()
                if colour != Colour.GREEN and pid not in flagged
            }
            changed = _changes(old, {**flagged, **turned_green}, now)
        summary.batches += 1
        summary.persons += n_green + len(flagged)
        summary.changed += len(changed)
        summary.colours[Colour.GREEN] += n_green
        for r in flagged.values():
            summary.colours[r.colour] += 1
        lo = hi
    summary.seconds = time.perf_counter() - started
    with transaction.atomic():
        audit.record(
            audit_actor,
            "healthcode.recompute_all",
            object_type="health.healthcode",
            detail={
                "persons": summary.persons,
                "changed": summary.changed,
                "colours": summary.colours,
                "seconds": round(summary.seconds, 2),
                "rules_as_of": rules_as_of.isoformat() if rules_as_of else None,
            },
        )
    return summary


def rules_changed_since_recompute() -> bool:
    """Whether a rule was changed after the rules the last full recompute used (the audit
    trail records that recompute and the rules' time it ran with)."""
    from gridguard.core.models import AuditEntry

    latest = HealthCodeRule.objects.aggregate(at=Max("updated_at"))["at"]
    if latest is None:
        return False
    last = (
        AuditEntry.objects.filter(action="healthcode.recompute_all")
        .order_by("-seq")
        .values_list("detail", flat=True)
        .first()
    )
    used = (last or {}).get("rules_as_of")
    return used is None or dt.datetime.fromisoformat(used) < latest


def recompute_after_rule_changes() -> int:
    """The worker's job: recompute every code once after rules changed; returns how many
    persons were recomputed (0 when no rule changed)."""
    if not rules_changed_since_recompute():
        return 0
    return recompute_all().persons


# --- rules ----------------------------------------------------------------------------------

RULE_FIELDS = (
    "condition",
    "params",
    "colour",
    "reason",
    "reason_en",
    "priority",
    "valid_hours",
    "active",
)


def _rule_dict(rule: HealthCodeRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def _int_field(errors: list[FieldError], name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.append(
            FieldError(
                name,
                "invalid",
                _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
            )
        )


def _validate_rule(values: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    if values.get("colour") not in Colour.values:
        errors.append(
            FieldError("colour", "invalid", _("The colour must be green, yellow or red."))
        )
    for name in ("reason", "reason_en"):
        text = values.get(name)
        if not isinstance(text, str) or len(text) > 120 or "\x00" in text:
            errors.append(FieldError(name, "invalid", _("Enter a text of at most 120 characters.")))
    if isinstance(values.get("reason"), str) and not values["reason"].strip():
        errors.append(FieldError("reason", "required", _("Enter the reason shown.")))
    _int_field(errors, "priority", values.get("priority"), 0, 32767)
    _int_field(errors, "valid_hours", values.get("valid_hours"), 1, 32767)
    if not isinstance(values.get("active"), bool):
        errors.append(FieldError("active", "invalid", _("Active must be true or false.")))
    try:
        values["params"] = code_facts.validate_params(
            values.get("condition", ""), values.get("params")
        )
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return values


def _require_rules_permission(actor: Any) -> None:
    if not actor.can("healthcode.rules"):
        raise NotPermitted()


def update_rule(
    actor: Any, rule: HealthCodeRule, *, recompute_now: bool = False, **fields: Any
) -> HealthCodeRule:
    """Change a rule (any of RULE_FIELDS), audited with before/after. Every code is then
    recomputed by the worker (`recompute_after_rule_changes`, ~20 s per million persons, too
    long for a request), or at once with `recompute_now` (commands, tests)."""
    _require_rules_permission(actor)
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise InvalidInput.one(unknown[0], "unknown", _("This field cannot be changed."))
    before = _rule_dict(rule)
    values = _validate_rule({**before, **fields})
    with transaction.atomic():
        for name in RULE_FIELDS:
            setattr(rule, name, values[name])
        rule.updated_at = clock.now()
        rule.updated_by = actor if getattr(actor, "_meta", None) is not None else None
        rule.save()
        after = _rule_dict(rule)
        audit.record(
            actor,
            "healthcode_rule.update",
            rule,
            detail={
                "before": {k: v for k, v in before.items() if after[k] != v},
                "after": {k: v for k, v in after.items() if before[k] != v},
            },
        )
    if recompute_now:
        recompute_all(audit_actor=actor)
    return rule


def create_rule(
    actor: Any, *, code: str, recompute_now: bool = False, **fields: Any
) -> HealthCodeRule:
    """Add a rule (audited); every code is then recomputed as after `update_rule`."""
    _require_rules_permission(actor)
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise InvalidInput.one(unknown[0], "unknown", _("This field cannot be set."))
    from django.core.validators import validate_slug

    try:
        validate_slug(code)
    except Exception:
        raise InvalidInput.one(
            "code", "invalid", _("Use letters, digits, hyphens and underscores.")
        ) from None
    if len(code) > 40:
        raise InvalidInput.one("code", "invalid", _("At most 40 characters."))
    defaults = {
        "params": {},
        "reason_en": "",
        "priority": 100,
        "valid_hours": 24,
        "active": True,
    }
    values = _validate_rule({**defaults, **fields})
    with transaction.atomic():
        if HealthCodeRule.objects.filter(code=code).exists():
            raise InvalidInput.one("code", "taken", _("A rule with this code exists."))
        rule = HealthCodeRule(code=code, **{k: values[k] for k in RULE_FIELDS})
        rule.updated_by = actor if getattr(actor, "_meta", None) is not None else None
        rule.save()
        audit.record(actor, "healthcode_rule.create", rule, detail={"after": _rule_dict(rule)})
    if recompute_now:
        recompute_all(audit_actor=actor)
    return rule
