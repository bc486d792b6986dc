"""Retention periods of the health app's personal records (applied by `gridguard purge`).

Observation records (orders with their check-ins, alerts and errands) and the registrations
that led to them are kept 30 days after the observation ended; registrations that led to none,
30 days after they were made. Each period is configurable with RETENTION_DAYS[kind]. The
daily counts (ObservationDailyCount) are aggregates and stay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q


def _ended_orders(cutoff: dt.datetime) -> Any:
    from gridguard.health.models import ObservationOrder, OrderStatus

    # An order's end: its release, or (cancelled / never released) the end of its last day.
    return ObservationOrder.objects.exclude(status=OrderStatus.ACTIVE).filter(
        Q(released_at__lt=cutoff) | Q(released_at__isnull=True, ends_on__lt=cutoff.date())
    )


def _expired_registrations(cutoff: dt.datetime) -> Any:
    from gridguard.health.models import ObservationOrder, TravellerRegistration

    kept_order = ObservationOrder.objects.filter(registration=OuterRef("pk")).exclude(
        pk__in=_ended_orders(cutoff).values("pk")
    )
    return TravellerRegistration.objects.filter(submitted_at__lt=cutoff).exclude(Exists(kept_order))


def _placed_intake(cutoff: dt.datetime) -> Any:
    from gridguard.health.models import RegistrationIntake

    return RegistrationIntake.objects.filter(processed_at__lt=cutoff)


def register_all() -> None:
    """Register every health retention kind with the purge framework."""
    from gridguard.core import retention
    from gridguard.health import models as m
    from gridguard.people.models import KeyPersonFlag

    retention.register(
        "observation_orders",
        m.ObservationOrder,
        "released_at",
        30,
        "Home-observation orders with their check-ins, alerts and errands, 30 days after the "
        "observation ended (daily counts stay).",
        expired=_ended_orders,
    )
    retention.register(
        "registration_intake",
        m.RegistrationIntake,
        "processed_at",
        7,
        "Registrations as they arrived in the intake queue, 7 days after they were placed (the "
        "registration itself is kept by its own rule; rows not placed yet are never purged).",
        expired=_placed_intake,
    )
    retention.register(
        "traveller_registrations",
        m.TravellerRegistration,
        "submitted_at",
        30,
        "Traveller registrations: 30 days after arrival, or after the observation they led "
        "to ended.",
        expired=_expired_registrations,
    )
    retention.register(
        "followup_tasks",
        m.FollowUpTask,
        "closed_at",
        30,
        "Closed follow-up tasks, 30 days after they were closed.",
    )
    retention.register(
        "fever_medicine_purchases",
        m.FeverMedicinePurchase,
        "bought_at",
        30,
        "Fever-medicine purchase registrations, 30 days after the purchase.",
    )
    retention.register(
        "mask_reservations",
        m.MaskReservation,
        "reserved_at",
        30,
        "Mask reservations, 30 days after they were made (quota counters stay).",
    )
    retention.register(
        "health_code_changes",
        m.HealthCodeChange,
        "changed_at",
        30,
        "The history of health-code colour changes, 30 days back (the current code stays).",
    )
    retention.register(
        "key_person_flags",
        KeyPersonFlag,
        "until",
        30,
        "Key-person flags, 30 days after they ended (open flags stay).",
    )
