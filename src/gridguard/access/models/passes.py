"""Street signing keys and entry passes (A1). Decision 0007."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.core import clock
from gridguard.core.scoping import AreaScoped


class SigningKey(AreaScoped):
    """A street's Ed25519 key for signing passes. `area` is the street.

    The private key is stored encrypted with a key derived from the server's secret key (never
    in the repository). One key per street is active; a rotated key stays on the trust list
    until `trusted_until` (the end of the passes it signed), a withdrawn key leaves it at once.
    """

    kid = models.CharField(_("key id"), max_length=16, unique=True)
    public_key = models.BinaryField(_("public key"))
    private_key_sealed = models.BinaryField()
    created_at = models.DateTimeField(default=clock.now)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    trusted_until = models.DateTimeField(_("trusted until"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdraw_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        constraints = [
            models.UniqueConstraint(
                fields=["area"],
                condition=models.Q(retired_at__isnull=True, withdrawn_at__isnull=True),
                name="one_active_signing_key_per_street",
            )
        ]

    def __str__(self) -> str:
        return self.kid


class PassKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    WORKER = "worker", _("Returning worker")
    VISITOR = "visitor", _("Visitor (temporary)")


class PassStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACTIVE = "active", _("Active")
    REFUSED = "refused", _("Refused")
    REVOKED = "revoked", _("Revoked")


class EntryPass(AreaScoped):
    """An entry pass (出入证) for one compound (`area`), or some of its gates."""

    pass_id = models.CharField(_("pass number"), max_length=16, unique=True)
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="entry_passes"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=PassKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=PassStatus.choices, default=PassStatus.REQUESTED
    )
    gates = models.ManyToManyField("territory.Area", blank=True, related_name="+")
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    requested_at = models.DateTimeField(default=clock.now)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    refuse_reason = models.CharField(max_length=255, blank=True)
    signing_key = models.ForeignKey(
        SigningKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credential = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    revoke_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("entry pass")
        verbose_name_plural = _("entry passes")
        indexes = [models.Index(fields=["area", "status"]), models.Index(fields=["revoked_at"])]

    def __str__(self) -> str:
        return self.pass_id
