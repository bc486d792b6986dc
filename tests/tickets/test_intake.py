"""Intake: checks, idempotency, classification, placing, merging and dispatch of new tickets."""

from __future__ import annotations

import datetime as dt

import pytest

from gridguard.core import clock
from gridguard.core.errors import InvalidInput, NotPermitted
from gridguard.tickets.models import Case, CaseStatus, Ticket, TicketEvent, TicketEventKind
from gridguard.tickets.services.intake import receive_many
from tests.tickets.conftest import TicketCity, file_ticket

GATE = "市民来电反映：A1小区门口保安不查出入证，外来人员随便进出，要求核实处理。"
GATE_AGAIN = "我住A1小区，门卫根本不管，谁都能进来，太吓人了"
CARDS = "A1小区活动室天天有人打麻将，十几个人聚在一起不戴口罩"


@pytest.mark.django_db
def test_a_ticket_is_classified_placed_and_dispatched(ticket_city: TicketCity) -> None:
    t = file_ticket(ticket_city.users["hotline"], GATE, "黄浦区南京东路街道A1小区")
    case = t.case
    assert t.subclass == "S01" and t.confidence > 0.5
    assert t.place_matched and t.area == ticket_city["compound_a1"]
    assert case.status == CaseStatus.DISPATCHED
    assert case.department == ticket_city.departments["committee_a1"]
    assert case.due_at is not None and case.due_at > clock.now()
    kinds = list(TicketEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == [TicketEventKind.RECEIVED, TicketEventKind.DISPATCHED]


@pytest.mark.django_db
def test_the_same_clue_through_another_channel_joins_the_case(ticket_city: TicketCity) -> None:
    first = file_ticket(ticket_city.users["hotline"], GATE, "A1小区")
    again = file_ticket(ticket_city.users["hotline"], GATE_AGAIN, "A1小区1号楼", channel="web")
    other_problem = file_ticket(ticket_city.users["hotline"], CARDS, "A1小区")
    other_place = file_ticket(ticket_city.users["hotline"], GATE.replace("A1", "B1"), "B1小区")
    assert again.case_id == first.case_id and again.merge_score is not None
    assert other_problem.case_id != first.case_id
    assert other_place.case_id not in {first.case_id, other_problem.case_id}
    assert Case.objects.get(pk=first.case_id).ticket_count == 2


@pytest.mark.django_db
def test_a_repeat_after_the_window_opens_a_new_case(ticket_city: TicketCity, settings) -> None:
    settings.TICKET_MERGE_WINDOW_DAYS = 7
    old = clock.now() - dt.timedelta(days=9)
    first = file_ticket(ticket_city.users["hotline"], GATE, "A1小区", at=old)
    again = file_ticket(ticket_city.users["hotline"], GATE_AGAIN, "A1小区")
    assert again.case_id != first.case_id


@pytest.mark.django_db
def test_the_same_reference_twice_is_one_ticket(ticket_city: TicketCity) -> None:
    hotline = ticket_city.users["hotline"]
    a = file_ticket(hotline, GATE, "A1小区", ref="H-1")
    b = file_ticket(hotline, GATE, "A1小区", ref="H-1")
    assert a.pk == b.pk and Ticket.objects.count() == 1
    with pytest.raises(InvalidInput) as err:
        file_ticket(hotline, "完全不同的一件事情，菜价太贵了", "A1菜场", ref="H-1")
    assert err.value.errors[0].field == "channel_ref"
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_bad_rows_are_reported_and_good_rows_land(ticket_city: TicketCity) -> None:
    future = (clock.now() + dt.timedelta(days=1)).isoformat()
    rows = [
        {"channel": "12345", "channel_ref": "G1", "text": GATE, "place": "A1小区"},
        {"channel": "99999", "channel_ref": "G2", "text": GATE},
        {"channel": "12345", "channel_ref": "G3", "text": "", "received_at": future},
        {"channel": "12345", "channel_ref": "G4", "text": "x" * 2001},
        {"channel": "12345", "channel_ref": "G5", "text": CARDS, "place": "A1小区"},
    ]
    outcomes = receive_many(ticket_city.users["hotline"], rows)
    assert [o.created for o in outcomes] == [True, False, False, False, True]
    assert outcomes[1].errors[0].field == "channel" and outcomes[1].errors[0].line == 2
    assert {e.field for e in outcomes[2].errors} == {"text", "received_at"}
    assert outcomes[3].errors[0].code == "too_long"
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_an_unplaced_ticket_lands_flagged_in_the_operators_area(ticket_city: TicketCity) -> None:
    t = file_ticket(ticket_city.users["hotline"], "有人在网上散布谣言说喝酒能防病毒", "")
    assert not t.place_matched and t.area == ticket_city["district"]


@pytest.mark.django_db
def test_intake_needs_the_permission(ticket_city: TicketCity) -> None:
    with pytest.raises(NotPermitted):
        file_ticket(ticket_city.users["resident_a1"], GATE, "A1小区")
    assert not Ticket.objects.exists()
