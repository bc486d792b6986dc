"""The built-in demo steps. Importing a module registers its steps (see demo.registry)."""

from gridguard.demo.steps import (
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
    "duty",
    "grid",
    "logins",
    "pharmacies",
    "residents",
    "responsibility",
    "territory",
    "travellers",
]
