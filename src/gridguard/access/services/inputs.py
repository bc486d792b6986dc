"""Checks of what gate volunteers and checkpoint staff type: plates, temperatures, times, counts
and short texts. Each check returns (clean value, errors) so a form can show every mistake at
once; phones are checked by `gridguard.people.identity.check_phone`, the one phone check.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from gridguard.core import clock
from gridguard.core.errors import FieldError, InvalidInput
from gridguard.health import travel
from gridguard.health.services.registration import FEVER_FROM
from gridguard.people.identity import check_phone

# The project's one body-temperature range and fever line (traveller registration uses them
# too): 37.3 °C is the line used at gates and checkpoints in 2020 (体温≥37.3℃ 不得进入).
MIN_TEMPERATURE = Decimal(str(travel.MIN_TEMPERATURE))
MAX_TEMPERATURE = Decimal(str(travel.MAX_TEMPERATURE))
FEVER = FEVER_FROM
# A device's clock may run a little ahead of the server's; more than this is a typing error.
CLOCK_SKEW = dt.timedelta(minutes=2)
# Gate books are typed in late at most a few days after the fact (offline devices, paper logs).
OLDEST = dt.timedelta(days=30)

_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters on plates leave out I and O (they read as 1 and 0).
_L = "A-HJ-NP-Z"
_ORDINARY = re.compile(rf"^[{_PROVINCE_CHARS}][{_L}][{_L}0-9]{{4}}[{_L}0-9挂学警港澳]$")
# New-energy plates (新能源, 8 characters): small cars D/F then a letter or digit and four
# digits (沪AD12345); large vehicles five digits then D/F (沪A12345D).
_NEW_ENERGY = re.compile(rf"^[{_PROVINCE_CHARS}][{_L}](?:[DF][{_L}0-9]\d{{4}}|\d{{5}}[DF])$")
# Embassy (使) and consulate (领) plates.
_DIPLOMATIC = re.compile(r"^(?:使\d{6}|[沪粤川辽鄂渝][A]\d{4}领)$")
_SEPARATORS = re.compile(r"[\s·•.\-_]")


def normalise_plate(value: Any) -> str:
    """Upper-case, half-width, without the dot or spaces people type (沪A·12345 → 沪A12345)."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return _SEPARATORS.sub("", text).upper()


def is_plate(plate: str) -> bool:
    """Whether `plate` (normalised) is a mainland plate: ordinary, new-energy or diplomatic."""
    return bool(_ORDINARY.match(plate) or _NEW_ENERGY.match(plate) or _DIPLOMATIC.match(plate))


def parse_plate(
    value: Any, field: str = "plate", *, required: bool = True
) -> tuple[str, list[FieldError]]:
    """A checked plate, or an error naming `field`."""
    plate = normalise_plate(value)
    if not plate:
        if required:
            return "", [FieldError(field, "required", _("Enter the plate number."))]
        return "", []
    if len(plate) > 12 or not is_plate(plate):
        return plate, [
            FieldError(
                field,
                "invalid",
                _(
                    "“%(v)s” is not a plate number: a province character, a letter and five "
                    "letters or digits (沪A12345), or six for a new-energy plate (沪AD12345)."
                )
                % {"v": str(value)[:20]},
            )
        ]
    return plate, []


def parse_phone(value: Any, field: str, *, required: bool) -> tuple[str, list[FieldError]]:
    """The project's phone check, as (value, errors)."""
    try:
        return check_phone(str(value or ""), field=field, required=required), []
    except InvalidInput as exc:
        return "", exc.errors


def parse_temperature(
    value: Any, field: str = "temperature"
) -> tuple[Decimal | None, list[FieldError]]:
    """°C with one decimal, within the project's range; blank means not taken."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    message = _("Enter a temperature between %(lo)s and %(hi)s °C.") % {
        "lo": MIN_TEMPERATURE,
        "hi": MAX_TEMPERATURE,
    }
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        t = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None, [FieldError(field, "invalid", message)]
    if not t.is_finite() or not MIN_TEMPERATURE <= t <= MAX_TEMPERATURE:
        return None, [FieldError(field, "range", message)]
    return t.quantize(Decimal("0.1")), []


def parse_int(
    value: Any, field: str, low: int, high: int, *, default: int | None = None
) -> tuple[int, list[FieldError]]:
    """A whole number from `low` to `high` (blank: `default`, when there is one)."""
    message = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
    if default is not None and (value is None or (isinstance(value, str) and not value.strip())):
        return default, []
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = value if isinstance(value, int) else int(str(value).strip())
    except (TypeError, ValueError):
        return low, [FieldError(field, "invalid", message)]
    if not low <= number <= high:
        return low, [FieldError(field, "range", message)]
    return int(number), []


def parse_text(
    value: Any, field: str, limit: int, *, required: bool, message: str = ""
) -> tuple[str, list[FieldError]]:
    """Stripped text of at most `limit` characters, without control characters."""
    text = " ".join(str(value or "").split())
    if required and not text:
        return "", [FieldError(field, "required", message or _("This field is required."))]
    if len(text) > limit:
        return text[:limit], [
            FieldError(field, "too_long", _("Keep this under %(n)d characters.") % {"n": limit + 1})
        ]
    if not text.isprintable():
        return "", [
            FieldError(field, "invalid", _("This contains characters that cannot be kept."))
        ]
    return text, []


def parse_time(value: Any, field: str) -> tuple[dt.datetime | None, list[FieldError]]:
    """A moment at most a little ahead of now and at most 30 days back; naive values are
    Shanghai wall-clock time (what a volunteer types). Blank: None (the caller uses now)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    when: dt.datetime | None
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            when = None
        if when is None:
            return None, [
                FieldError(field, "invalid", _("Enter a date and time (YYYY-MM-DD HH:MM)."))
            ]
    if when.tzinfo is None:
        when = when.replace(tzinfo=clock.SHANGHAI)
    now = clock.now()
    if when > now + CLOCK_SKEW:
        return None, [FieldError(field, "future", _("This time is in the future."))]
    if when < now - OLDEST:
        return None, [FieldError(field, "too_old", _("This time is more than 30 days ago."))]
    return when.astimezone(dt.UTC), []


def fever(*temperatures: Decimal | None) -> bool:
    """Whether any temperature taken is 37.3 °C or more."""
    return any(t is not None and t >= FEVER for t in temperatures)
