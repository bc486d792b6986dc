"""Checking identity documents and phones: one place, used by every form, API and import.

Mainland ID numbers are checked with python-stdnum (`stdnum.cn.ric`: checksum, birth date and
the region of issue); other documents get a shape check per type.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric

from gridguard.core import clock
from gridguard.core.errors import InvalidInput
from gridguard.people.models import IdType, Sex

_OTHER_DOCUMENTS = {
    # Mainland travel permits (回乡证 H/M + 8 digits, 台胞证 8 digits), passports and the
    # foreigner's permanent residence card (15 characters, or 18 for the 2023 card).
    IdType.HK_MACAO_PERMIT: re.compile(r"^[HM]\d{8}(\d{2})?$"),
    IdType.TAIWAN_PERMIT: re.compile(r"^\d{8}(\d{2})?$"),
    IdType.PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$"),
    IdType.FOREIGN_PERMANENT: re.compile(r"^([A-Z]{3}\d{12}|9\d{17})$"),
    IdType.OTHER: re.compile(r"^[A-Z0-9-]{4,32}$"),
}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_INTERNATIONAL = re.compile(r"^\+(?!86)\d{7,15}$")


@dataclass(frozen=True)
class Identity:
    """A checked document: its type, normalised number, and what the number tells."""

    id_type: str
    id_number: str
    birth_date: dt.date | None = None
    sex: str = Sex.UNKNOWN


def normalise_id_number(value: str) -> str:
    """Upper-case, without spaces or full-width characters (people type them on phones)."""
    return re.sub(r"[\s\u3000]", "", unicodedata.normalize("NFKC", value or "")).upper()


def check_identity(id_type: str, id_number: str, *, field: str = "id_number") -> Identity:
    """Validate a document number for its type; raise InvalidInput naming `field` if bad."""
    if id_type not in IdType.values:
        raise InvalidInput.one(
            "id_type", "unknown_id_type", _("Unknown document type “%(t)s”.") % {"t": id_type}
        )
    number = normalise_id_number(id_number)
    if not number:
        raise InvalidInput.one(field, "required", _("The document number is required."))
    if id_type != IdType.RESIDENT_ID:
        if not _OTHER_DOCUMENTS[IdType(id_type)].match(number):
            raise InvalidInput.one(
                field, "invalid", _("This is not a valid number for this kind of document.")
            )
        return Identity(id_type, number)
    if len(number) != 18:
        raise InvalidInput.one(
            field,
            "length",
            _("A resident ID number has 18 characters; this has %(n)d.") % {"n": len(number)},
        )
    # python-stdnum's validate() also insists the county code existed in the birth year, but
    # numbers are issued with the code current at issue, so a person born in 1980 in a district
    # created in 1992 holds a valid number it would refuse: check the parts one by one instead.
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidInput.one(
            field, "format", _("A resident ID number is 17 digits and a digit or X.")
        )
    if ric.calc_check_digit(number) != number[17]:
        raise InvalidInput.one(
            field, "checksum", _("The check digit is wrong: please check the ID number.")
        )
    try:
        ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        raise InvalidInput.one(
            field, "birth_date", _("The birth date in this ID number is not a real date.")
        ) from None
    if not _region_exists(number[:6]):
        raise InvalidInput.one(
            field, "region", _("The region code of this ID number does not exist.")
        )
    birth = ric.get_birth_date(number)
    if birth > clock.today():
        raise InvalidInput.one(
            field, "birth_date", _("The birth date in this ID number is in the future.")
        )
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    return Identity(id_type, number, birth, sex)


def _region_exists(code: str) -> bool:
    """Whether the 6-digit region code was ever assigned (stdnum's region table)."""
    if not code.isdigit():
        return False
    parts = numdb.get("cn/loc").info(code)
    return any("county" in props for _part, props in parts)


def normalise_phone(value: str) -> str:
    """Digits only (a leading + kept); the +86 country code dropped."""
    raw = re.sub(r"[\s\-()（）]", "", value or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    return raw


def check_phone(value: str, *, field: str = "phone", required: bool = True) -> str:
    """A mainland mobile or landline (with area code) or an international number."""
    phone = normalise_phone(value)
    if not phone:
        if required:
            raise InvalidInput.one(field, "required", _("A phone number is required."))
        return ""
    if _MOBILE.match(phone) or _LANDLINE.match(phone) or _INTERNATIONAL.match(phone):
        return phone
    raise InvalidInput.one(
        field,
        "invalid",
        _(
            "“%(v)s” is not a phone number: 11 digits for a mobile, area code and number for a "
            "landline, or +country code for a foreign number."
        )
        % {"v": value[:30]},
    )
