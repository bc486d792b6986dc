"""The facts a health-code rule can test (P4): a fixed vocabulary of conditions.

Each condition is a function `(params, now, scope) -> {person_id: until}` evaluated SET-BASED
(one query for every person in `scope`), giving the persons for whom the fact holds and when
it ends by itself (`until`, None when it lasts until someone changes it). `scope` is an
`IdRange` (a batch of person ids by primary key), a list of person ids, or None (everyone).

Which conditions count, with what thresholds and colours, is data (HealthCodeRule); the
parameters an administrator gives are checked by `validate_params`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from gridguard.core import clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.health.models import (
    AlertKind,
    CheckIn,
    FeverMedicinePurchase,
    ObservationAlert,
    ObservationOrder,
    OrderStatus,
    TravellerRegistration,
)
from gridguard.people.models import KeyCategory, KeyPersonFlag


@dataclass(frozen=True)
class IdRange:
    """Person ids `lo <= id < hi` (a batch of recompute_all)."""

    lo: int
    hi: int


Scope = IdRange | Sequence[int] | None
Holds = dict[int, dt.datetime | None]
FactFn = Callable[[Mapping[str, Any], dt.datetime, Scope], Holds]


def _scoped(qs: QuerySet[Any], person_field: str, scope: Scope) -> QuerySet[Any]:
    if scope is None:
        return qs
    if isinstance(scope, IdRange):
        return qs.filter(**{f"{person_field}__gte": scope.lo, f"{person_field}__lt": scope.hi})
    return qs.filter(**{f"{person_field}__in": list(scope)})


def _latest_end(rows: Iterable[tuple[int, dt.datetime | None]]) -> Holds:
    """Reduce (person, end) rows to the latest end per person; None (open-ended) wins."""
    out: Holds = {}
    for pid, end in rows:
        if pid in out:
            prev = out[pid]
            if prev is None or end is None:
                out[pid] = None
            else:
                out[pid] = max(prev, end)
        else:
            out[pid] = end
    return out


def _window_rows(rows: Iterable[tuple[int, dt.datetime]], days: int) -> Holds:
    delta = dt.timedelta(days=days)
    return _latest_end((pid, at + delta) for pid, at in rows)


def _start_of_local_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=clock.SHANGHAI).astimezone(dt.UTC)


# --- the facts ----------------------------------------------------------------------------


def flag(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """The person has a key-person flag of `category` in force now."""
    qs = KeyPersonFlag.objects.filter(category=params["category"], since__lte=now).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )
    return _latest_end(_scoped(qs, "person_id", scope).values_list("person_id", "until"))


def in_observation(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """The person has an active observation order (it ends when the order is released)."""
    qs = ObservationOrder.objects.filter(status=OrderStatus.ACTIVE)
    return {
        pid: None for pid in _scoped(qs, "person_id", scope).values_list("person_id", flat=True)
    }


def _alerts(kind: str, since: dt.datetime, now: dt.datetime) -> QuerySet[ObservationAlert]:
    return ObservationAlert.objects.filter(kind=kind, raised_at__gt=since, raised_at__lte=now)


def breach(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """A breach of observation was reported in the last `days` days."""
    days = int(params["days"])
    qs = _alerts(AlertKind.BREACH, now - dt.timedelta(days=days), now)
    return _window_rows(
        _scoped(qs, "order__person_id", scope).values_list("order__person_id", "raised_at"), days
    )


def fever(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """A check-in at or above the order type's fever threshold (or a fever alert) in the last
    `days` days."""
    days = int(params["days"])
    since = now - dt.timedelta(days=days)
    hot = CheckIn.objects.filter(
        reported_at__gt=since,
        reported_at__lte=now,
        temperature__gte=F("order__order_type__fever_threshold"),
    )
    checkins = _scoped(hot, "order__person_id", scope)
    alerts = _scoped(_alerts(AlertKind.FEVER, since, now), "order__person_id", scope)
    rows = checkins.values_list("order__person_id", "reported_at").union(
        alerts.values_list("order__person_id", "raised_at"), all=True
    )
    return _window_rows(rows, days)


def key_area_arrival(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """Arrived from a key area within the last `days` days (counting the arrival day)."""
    days = int(params["days"])
    today = clock.local(now).date()
    qs = TravellerRegistration.objects.filter(
        from_key_area=True, arrival_date__gt=today - dt.timedelta(days=days)
    )
    rows = _scoped(qs, "person_id", scope).values_list("person_id", "arrival_date")
    return _latest_end(
        (pid, _start_of_local_day(day + dt.timedelta(days=days))) for pid, day in rows
    )


def symptoms_declared(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """Declared symptoms or a contact history at a registration in the last `days` days."""
    days = int(params["days"])
    qs = TravellerRegistration.objects.filter(
        submitted_at__gt=now - dt.timedelta(days=days), submitted_at__lte=now
    ).filter(Q(contact_history=True) | ~Q(symptoms=[]))
    return _window_rows(
        _scoped(qs, "person_id", scope).values_list("person_id", "submitted_at"), days
    )


def missed_checkins(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """At least `count` missed check-ins in the last `days` days. It ends when the
    `count`-th most recent of them leaves the window."""
    days, count = int(params["days"]), int(params["count"])
    delta = dt.timedelta(days=days)
    qs = _alerts(AlertKind.MISSED, now - delta, now)
    per_person: dict[int, list[dt.datetime]] = {}
    for pid, at in _scoped(qs, "order__person_id", scope).values_list(
        "order__person_id", "raised_at"
    ):
        per_person.setdefault(pid, []).append(at)
    out: Holds = {}
    for pid, times in per_person.items():
        if len(times) >= count:
            times.sort(reverse=True)
            out[pid] = times[count - 1] + delta
    return out


def fever_medicine(params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """Bought fever medicine in the last `days` days."""
    days = int(params["days"])
    qs = FeverMedicinePurchase.objects.filter(
        bought_at__gt=now - dt.timedelta(days=days), bought_at__lte=now
    )
    return _window_rows(_scoped(qs, "buyer_id", scope).values_list("buyer_id", "bought_at"), days)


# --- the vocabulary and its parameters ----------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a condition: an integer in [low, high], or one of `choices`."""

    name: str
    low: int = 1
    high: int = 365
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    name: str
    fn: FactFn
    params: tuple[Param, ...]


_DAYS = Param("days", 1, 365)
CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("flag", flag, (Param("category", choices=tuple(KeyCategory.values)),)),
        Condition("in_observation", in_observation, ()),
        Condition("breach", breach, (_DAYS,)),
        Condition("fever", fever, (_DAYS,)),
        Condition("key_area_arrival", key_area_arrival, (_DAYS,)),
        Condition("symptoms_declared", symptoms_declared, (_DAYS,)),
        Condition("missed_checkins", missed_checkins, (_DAYS, Param("count", 1, 100))),
        Condition("fever_medicine", fever_medicine, (_DAYS,)),
    )
}


def evaluate(condition: str, params: Mapping[str, Any], now: dt.datetime, scope: Scope) -> Holds:
    """The persons in `scope` for whom `condition` holds now, with the fact's own end."""
    return CONDITIONS[condition].fn(params, now, scope)


def validate_params(condition: str, params: Any) -> dict[str, Any]:
    """Check a rule's condition and parameters; return the cleaned parameters.

    Raises InvalidInput naming `condition` or `params` (and the parameter in the message).
    """
    spec = CONDITIONS.get(condition)
    if spec is None:
        raise InvalidInput.one(
            "condition",
            "unknown",
            _("Unknown condition. Choose one of: %(names)s.") % {"names": ", ".join(CONDITIONS)},
        )
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput.one("params", "invalid", _("Parameters must be a JSON object."))
    errors: list[FieldError] = []
    known = {p.name for p in spec.params}
    for key in sorted(set(params) - known):
        errors.append(
            FieldError(
                "params",
                "unknown",
                _("Unknown parameter “%(name)s” for this condition.") % {"name": key},
            )
        )
    cleaned: dict[str, Any] = {}
    for p in spec.params:
        value = params.get(p.name)
        if value is None:
            errors.append(
                FieldError(
                    "params", "required", _("Parameter “%(name)s” is required.") % {"name": p.name}
                )
            )
            continue
        if p.choices:
            if not isinstance(value, str) or value not in p.choices:
                errors.append(
                    FieldError(
                        "params",
                        "invalid",
                        _("Parameter “%(name)s” must be one of: %(choices)s.")
                        % {"name": p.name, "choices": ", ".join(p.choices)},
                    )
                )
                continue
            cleaned[p.name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not p.low <= value <= p.high:
            errors.append(
                FieldError(
                    "params",
                    "invalid",
                    _("Parameter “%(name)s” must be a whole number from %(low)s to %(high)s.")
                    % {"name": p.name, "low": p.low, "high": p.high},
                )
            )
            continue
        cleaned[p.name] = value
    if errors:
        raise InvalidInput(errors)
    return cleaned
