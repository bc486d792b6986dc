"""Notices to residents and answers to common questions (C3)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class Notice(AreaScoped):
    """A notice published to `area` and everything under it (a district's notice reaches every
    compound in it). Withdrawn notices stay, for the record."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    published_at = models.DateTimeField(_("published at"), default=clock.now)
    until = models.DateTimeField(_("shown until"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    published_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["area", "published_at"])]

    def __str__(self) -> str:
        return self.title


class Answer(AreaScoped):
    """An answer to a common question, linked to the ticket subclasses it answers, so an
    operator replying to a ticket of that subclass is offered it and residents find it."""

    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"), max_length=5000)
    subclasses = models.JSONField(_("subclasses"), default=list)
    published_at = models.DateTimeField(_("published at"), default=clock.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    published_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("answer to a common question")
        verbose_name_plural = _("answers to common questions")

    def __str__(self) -> str:
        return self.question
