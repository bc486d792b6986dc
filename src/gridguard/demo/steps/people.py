"""Helpers the demo steps share to make staff users quickly (one password hash for all)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password

from gridguard.accounts.models import RoleBinding, User
from gridguard.core import audit
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext


def password_hash(ctx: DemoContext) -> str:
    """The demo password hashed once: hashing it per user would take minutes at city scale."""
    cached = ctx.key.get("_password_hash")
    if cached is None:
        cached = make_password(ctx.password)
        ctx.key["_password_hash"] = cached
    return str(cached)


def phone(ctx: DemoContext) -> str:
    """A mainland mobile number, drawn from the seeded generator."""
    return f"1{ctx.rnd.choice('3456789')}{ctx.rnd.randrange(10**9):09d}"


def bulk_staff(ctx: DemoContext, prefix: str, role: str, areas: list[Any]) -> list[User]:
    """One user per area in `areas`, named prefix0001…, bound to that area with `role`."""
    hashed = password_hash(ctx)
    users = [
        User(
            username=f"{prefix}{i:04d}",
            password=hashed,
            display_name=ctx.fake.name(),
            phone=phone(ctx),
        )
        for i in range(1, len(areas) + 1)
    ]
    users = User.objects.bulk_create(users, batch_size=2000)
    if users and users[0].pk is None:  # no RETURNING: read the keys back
        by_name = dict(
            User.objects.filter(username__startswith=prefix).values_list("username", "pk")
        )
        for u in users:
            u.pk = by_name[u.username]
    RoleBinding.objects.bulk_create(
        [RoleBinding(user=u, role=role, area=a) for u, a in zip(users, areas, strict=True)],
        batch_size=2000,
    )
    audit.record(
        SYSTEM,
        "demo.staff.create",
        object_type="accounts.user",
        detail={"role": role, "users": len(users), "prefix": prefix},
    )
    for u in users:
        ctx.users[u.username] = u
    return users
