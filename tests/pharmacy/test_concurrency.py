"""The last masks under real concurrency: threads with their own database connections.

On PostgreSQL (DATABASE_URL=postgres://…) the threads really race: the guarded UPDATE and the
lock on the Person row are what keep the counts right. On SQLite writers queue (IMMEDIATE
transactions), and the test still proves the counts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from gridguard.core import clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import SYSTEM
from gridguard.health.models import MaskQuotaDay, MaskReservation, ReservationStatus
from gridguard.health.services import pharmacy as masks
from tests import factories
from tests.conftest import City, audit_triggers_lifted, build_city
from tests.pharmacy.helpers import NOON, TODAY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _audit_triggers_off(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    with audit_triggers_lifted(django_db_blocker):
        yield


@pytest.fixture
def town(transactional_db: Any) -> City:
    return build_city()


def _race(jobs: list[Callable[[], Any]]) -> list[str]:
    """Run the jobs at once, one thread and one connection each; each returns "ok" or the
    refusal's code (any other failure fails the test)."""
    barrier = threading.Barrier(len(jobs))
    results: list[str] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            try:
                job()
                outcome = "ok"
            except InvalidInput as exc:
                outcome = exc.errors[0].code
            with lock:
                results.append(outcome)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    with clock.frozen(NOON):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not failures, failures
    assert len(results) == len(jobs)
    return results


def test_the_last_masks_go_to_exactly_as_many_as_there_are(town: City) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, town["pharmacy_a1"], daily_quota=10, per_person_limit=5)
        first = factories.person(town["compound_a1"])
        masks.reserve_masks(SYSTEM, first, outlet, TODAY, 5, "first")
        masks.reserve_masks(SYSTEM, factories.person(town["compound_a1"]), outlet, TODAY, 2, "2nd")
    buyers = [factories.person(town["compound_a1"]) for _ in range(12)]

    def job(i: int) -> Callable[[], Any]:
        return lambda: masks.reserve_masks(SYSTEM, buyers[i], outlet, TODAY, 1, f"race-{i}")

    outcomes = Counter(_race([job(i) for i in range(12)]))
    assert outcomes == {"ok": 3, "sold_out": 9}
    stock = MaskQuotaDay.objects.get(outlet=outlet, day=TODAY)
    assert stock.reserved == stock.quota == 10
    held = MaskReservation.objects.filter(outlet=outlet, status=ReservationStatus.RESERVED)
    assert sum(held.values_list("quantity", flat=True)) == 10
    assert len(set(held.values_list("code", flat=True))) == held.count() == 2 + 3


def test_one_persons_concurrent_reservations_stay_within_the_limit(town: City) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, town["pharmacy_a1"], daily_quota=100, per_person_limit=5)
    person = factories.person(town["compound_a1"])
    # The day's stock is not opened yet: the threads race to open it too.
    jobs = [
        (lambda i=i: masks.reserve_masks(SYSTEM, person, outlet, TODAY, 2, f"mine-{i}"))
        for i in range(8)
    ]
    outcomes = Counter(_race(jobs))
    assert outcomes == {"ok": 2, "limit": 6}
    assert masks.person_used(person, TODAY, outlet.period_days) == 4
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).reserved == 4
    assert MaskQuotaDay.objects.filter(outlet=outlet).count() == 1


def test_one_submission_sent_many_times_at_once_is_one_reservation(town: City) -> None:
    with clock.frozen(NOON):
        outlet = masks.set_outlet(SYSTEM, town["pharmacy_a1"], daily_quota=100, per_person_limit=5)
    person = factories.person(town["compound_a1"])
    jobs = [
        (lambda: masks.reserve_masks(SYSTEM, person, outlet, TODAY, 3, "tap")) for _ in range(6)
    ]
    assert set(_race(jobs)) == {"ok"}
    assert MaskReservation.objects.filter(submission_key="tap").count() == 1
    assert MaskQuotaDay.objects.get(outlet=outlet, day=TODAY).reserved == 3
