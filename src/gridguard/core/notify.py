"""Messages to people outside their pages: the reply to a citizen's ticket, a reminder to a
department. One pluggable gateway (settings.NOTIFY_BACKEND); the default writes to the log,
and a city configures its SMS or app-push gateway in its place."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("gridguard.notify")


@dataclass(frozen=True)
class Message:
    """To whom (a phone number or "user:<id>"), what, and about what (e.g. a case number)."""

    to: str
    text: str
    about: str = ""


class Backend(Protocol):
    def send(self, message: Message) -> None: ...


class LogBackend:
    """Writes each message to the log (the numbers masked: logs are read widely)."""

    def send(self, message: Message) -> None:
        from gridguard.core.masking import mask_phone

        to = message.to if message.to.startswith("user:") else mask_phone(message.to)
        log.info("notify %s about %s: %s", to, message.about, message.text)


class MemoryBackend:
    """Keeps messages in a list: for tests and for a demo page showing what was sent."""

    outbox: list[Message] = []

    def send(self, message: Message) -> None:
        MemoryBackend.outbox.append(message)


@cache
def _backend(path: str) -> Backend:
    return import_string(path)()


def send(to: str, text: str, *, about: str = "") -> Message:
    """Send one message through the configured gateway and return it."""
    message = Message(to=to, text=text, about=about)
    _backend(settings.NOTIFY_BACKEND).send(message)
    return message
