"""Ticket records: tickets from every channel, the cases they merge into, their history,
operators' corrections, departments, notices and answers (C1-C3)."""

from gridguard.tickets.models.departments import Department
from gridguard.tickets.models.notices import Answer, Notice
from gridguard.tickets.models.reports import TicketReport
from gridguard.tickets.models.tickets import (
    MAX_PLACE,
    MAX_TEXT,
    OPEN_STATUSES,
    Case,
    CaseKey,
    CaseStatus,
    Channel,
    ClassifiedBy,
    Correction,
    Ticket,
    TicketEvent,
    TicketEventKind,
    Urgency,
)

__all__ = [
    "MAX_PLACE",
    "MAX_TEXT",
    "OPEN_STATUSES",
    "Answer",
    "Case",
    "CaseKey",
    "CaseStatus",
    "Channel",
    "ClassifiedBy",
    "Correction",
    "Department",
    "Notice",
    "Ticket",
    "TicketEvent",
    "TicketEventKind",
    "TicketReport",
    "Urgency",
]
