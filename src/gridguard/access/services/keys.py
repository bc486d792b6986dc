"""Street signing keys: create, rotate, withdraw; the trust list scanners verify against.

Private keys are sealed (Fernet) with a key derived from the server's secret key, so a copy of
the database alone cannot sign passes. Decision 0007.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from gridguard.access.credential import TrustList, key_id
from gridguard.access.models import EntryPass, PassStatus, SigningKey
from gridguard.core import audit, clock
from gridguard.core.errors import InvalidInput
from gridguard.core.scoping import require_permission_at
from gridguard.territory.kinds import AreaKind
from gridguard.territory.models import Area


def _fernet() -> Fernet:
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"gridguard pass signing keys"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def private_key(key: SigningKey) -> Ed25519PrivateKey:
    """The key's private half, unsealed."""
    raw = _fernet().decrypt(bytes(key.private_key_sealed))
    return Ed25519PrivateKey.from_private_bytes(raw)


def _street_of(area: Area) -> Area:
    """The street (or township) above or at `area`, in one query over its path's codes."""
    street = Area.objects.filter(
        code__in=area.codes, kind__in=(AreaKind.STREET, AreaKind.TOWNSHIP)
    ).first()
    if street is None:
        raise InvalidInput.one("area", "no_street", _("This place is not inside a street."))
    return street


def _new_key(street: Area) -> SigningKey:
    secret = Ed25519PrivateKey.generate()
    public = secret.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    sealed = _fernet().encrypt(
        secret.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    return SigningKey.objects.create(
        area=street, kid=key_id(public).hex(), public_key=public, private_key_sealed=sealed
    )


def active_key(area: Area) -> SigningKey:
    """The signing key of `area`'s street, made on first use."""
    street = _street_of(area)
    key = SigningKey.objects.filter(
        area=street, retired_at__isnull=True, withdrawn_at__isnull=True
    ).first()
    if key is not None:
        return key
    with transaction.atomic():
        # Another process may make it at the same moment: the unique constraint decides.
        key = (
            SigningKey.objects.select_for_update()
            .filter(area=street, retired_at__isnull=True, withdrawn_at__isnull=True)
            .first()
        )
        return key or _new_key(street)


def _last_valid_until(key: SigningKey) -> dt.datetime:
    until = EntryPass.objects.filter(signing_key=key, status=PassStatus.ACTIVE).aggregate(
        m=Max("valid_until")
    )["m"]
    return max(until or clock.now(), clock.now())


def rotate_key(actor: Any, street: Area) -> SigningKey:
    """Retire the street's key and make a new one. Passes signed with the old key stay valid
    (the old key stays on the trust list until the last of them ends); new passes use the new
    key."""
    require_permission_at(actor, "passes.keys", street)
    with transaction.atomic():
        old = active_key(street)
        old.retired_at = clock.now()
        old.trusted_until = _last_valid_until(old)
        old.save(update_fields=["retired_at", "trusted_until"])
        new = _new_key(old.area)
        audit.record(
            actor, "access.key.rotate", new, detail={"retired": old.kid, "active": new.kid}
        )
    _forget_scanner_caches()
    return new


def withdraw_key(actor: Any, key: SigningKey, reason: str) -> SigningKey:
    """Take a (possibly stolen) key off the trust list at once. Its active passes are signed
    again with the street's new key; their holders need the new QR (the page shows it)."""
    require_permission_at(actor, "passes.keys", key.area)
    if not reason.strip():
        raise InvalidInput.one("reason", "required", _("Say why the key is withdrawn."))
    from gridguard.access.services.passes import sign_pass

    with transaction.atomic():
        key = SigningKey.objects.select_for_update().get(pk=key.pk)
        if key.withdrawn_at is not None:
            return key
        key.withdrawn_at = clock.now()
        key.withdraw_reason = reason.strip()[:255]
        key.save(update_fields=["withdrawn_at", "withdraw_reason"])
        passes = list(
            EntryPass.objects.filter(signing_key=key, status=PassStatus.ACTIVE).select_related(
                "person", "area"
            )
        )
        for entry_pass in passes:
            sign_pass(entry_pass)
        audit.record(
            actor,
            "access.key.withdraw",
            key,
            detail={"reason": key.withdraw_reason, "passes_resigned": len(passes)},
        )
    _forget_scanner_caches()
    return key


def _forget_scanner_caches() -> None:
    # This process's online scans see the change at once; other processes within
    # scanning.CACHE_SECONDS.
    from gridguard.access.services import scanning

    scanning.forget_cached()


def trusted_keys(at: dt.datetime | None = None) -> list[SigningKey]:
    """The keys scanners accept now: not withdrawn, and active or still covering passes."""
    when = at or clock.now()
    return list(
        SigningKey.objects.filter(withdrawn_at__isnull=True)
        .filter(Q(retired_at__isnull=True) | Q(trusted_until__gt=when))
        .select_related("area")
        .order_by("pk")
    )


def trust_list(at: dt.datetime | None = None) -> TrustList:
    """The trusted keys as the credential verifier takes them, each bound to its street."""
    keys = trusted_keys(at)
    return TrustList.from_raw(
        {bytes.fromhex(k.kid): bytes(k.public_key) for k in keys},
        {bytes.fromhex(k.kid): k.area.code for k in keys},
    )
