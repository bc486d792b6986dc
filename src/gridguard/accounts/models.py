"""Users bound to areas by role, and API tokens for devices and integrations."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridguard.accounts.roles import PERMISSIONS, SCOPING_ROLES, Role
from gridguard.core import clock
from gridguard.core.scoping import WHOLE_CITY, AreaScoped


class User(AbstractUser):
    """A person who logs in. What they see is decided by their role bindings."""

    display_name = models.CharField(_("name"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def audit_label(self) -> str:
        return self.username

    # The bindings are read once per request and cached on the instance.
    def bindings(self) -> list[RoleBinding]:
        cached: list[RoleBinding] | None = getattr(self, "_bindings_cache", None)
        if cached is None:
            cached = list(RoleBinding.objects.filter(user=self, active=True).select_related("area"))
            self._bindings_cache = cached
        return cached

    def forget_bindings(self) -> None:
        self.__dict__.pop("_bindings_cache", None)

    def roles(self) -> set[str]:
        return {b.role for b in self.bindings()}

    def scope_paths(self) -> tuple[str, ...]:
        """Subtrees this user may read: superusers the whole city, others their bindings."""
        if not self.is_active:
            return ()
        if self.is_superuser:
            return (WHOLE_CITY,)
        return tuple(b.area.path for b in self.bindings() if b.role in SCOPING_ROLES)

    def can(self, permission: str) -> bool:
        """Whether any of the user's roles grants `permission` (somewhere)."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        allowed = PERMISSIONS.get(permission, set())
        return any(b.role in allowed for b in self.bindings())

    def can_at(self, permission: str, path: str) -> bool:
        """Whether a role granting `permission` is bound to an area covering `path`."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        allowed = PERMISSIONS.get(permission, set())
        return any(b.role in allowed and path.startswith(b.area.path) for b in self.bindings())


class RoleBinding(AreaScoped):
    """User U has role R in area A (and its subtree)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_bindings")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=clock.now)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("role binding")
        verbose_name_plural = _("role bindings")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area"], name="one_binding_per_role_area"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.area_id}"


class TokenPurpose(models.TextChoices):
    GATE_SCANNER = "gate_scanner", _("Gate scanner")
    CAMERA = "camera", _("Camera")
    HOTLINE_CONNECTOR = "hotline_connector", _("Hotline connector")
    WRISTBAND = "wristband", _("Wristband gateway")
    CHECKPOINT_DEVICE = "checkpoint_device", _("Checkpoint device")
    INTEGRATION = "integration", _("Read-only integration")


# What a token of each purpose may do (on top of reading its area's territory).
TOKEN_PERMISSIONS: dict[str, set[str]] = {
    TokenPurpose.GATE_SCANNER: {"territory.view", "duty.view", "gate.scan", "healthcode.view"},
    TokenPurpose.CAMERA: {"territory.view", "command.camera"},
    # A connector reads back the tickets it filed (Open311 clients expect to).
    TokenPurpose.HOTLINE_CONNECTOR: {"territory.view", "tickets.intake", "tickets.view"},
    TokenPurpose.WRISTBAND: {"territory.view", "observation.device_checkin"},
    TokenPurpose.CHECKPOINT_DEVICE: {
        "territory.view",
        "checkpoint.record",
        "travellers.register",
    },
    TokenPurpose.INTEGRATION: {
        "territory.view",
        "responsibility.view",
        "duty.view",
        "healthcode.view",
    },
}

TOKEN_PREFIX = "gg_"  # noqa: S105 - a public marker, not a secret


def hash_secret(secret: str) -> str:
    """Tokens are 256-bit random, so one round of SHA-256 is enough (no dictionary to guess)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(AreaScoped):
    """A bearer token for a device or integration, bound to an area and a purpose."""

    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=32, choices=TokenPurpose.choices)
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    # The token acts like a user for scoping and permissions.
    is_authenticated = True
    is_active = True

    def audit_label(self) -> str:
        return f"token:{self.key_id}"

    def scope_paths(self) -> tuple[str, ...]:
        return (self.area.path,) if self.usable() else ()

    def can(self, permission: str) -> bool:
        return self.usable() and permission in TOKEN_PERMISSIONS.get(self.purpose, set())

    def can_at(self, permission: str, path: str) -> bool:
        return self.can(permission) and path.startswith(self.area.path)

    def usable(self, at: Any = None) -> bool:
        when = at or clock.now()
        if self.revoked_at is not None:
            return False
        return not (self.expires_at is not None and self.expires_at <= when)
