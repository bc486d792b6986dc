"""The built-in demo steps. Importing a module registers its steps (see demo.registry)."""

from gridguard.demo.steps import (
    checkpoints,
    codes,
    duty,
    grid,
    logins,
    passes,
    pharmacies,
    residents,
    responsibility,
    territory,
    tickets,
    travellers,
)

__all__ = [
    "checkpoints",
    "codes",
    "duty",
    "grid",
    "logins",
    "passes",
    "pharmacies",
    "residents",
    "responsibility",
    "territory",
    "tickets",
    "travellers",
]
