"""The built-in demo steps. Importing a module registers its steps (see demo.registry)."""

from gridguard.demo.steps import (
    codes,
    duty,
    grid,
    logins,
    pharmacies,
    residents,
    responsibility,
    territory,
    travellers,
)

__all__ = [
    "codes",
    "duty",
    "grid",
    "logins",
    "pharmacies",
    "residents",
    "responsibility",
    "territory",
    "travellers",
]
