"""Forms shared by several apps' pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridguard.core.clock import SHANGHAI


class DateRangeForm(forms.Form):
    """`?since=YYYY-MM-DD&until=YYYY-MM-DD` filters of list pages (both days included)."""

    since = forms.DateField(
        label=gettext_lazy("since"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("not a date (YYYY-MM-DD)")},
    )
    until = forms.DateField(
        label=gettext_lazy("until"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("not a date (YYYY-MM-DD)")},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("is before “since”"))
        return data

    def messages(self) -> list[str]:
        """Each problem as "field: message", for the page's alert."""
        return [f"{name}: {msg}" for name, msgs in self.errors.items() for msg in msgs]

    def days(self) -> tuple[dt.date | None, dt.date | None]:
        """The valid days (None where missing or bad)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return data.get("since"), data.get("until")

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[since 00:00, the day after until 00:00) in Shanghai time."""
        since, until = self.days()

        def midnight(day: dt.date | None) -> dt.datetime | None:
            return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI) if day else None

        return midnight(since), midnight(until + dt.timedelta(days=1) if until else None)
