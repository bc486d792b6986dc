"""Access API: traceback."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import time.
from ninja import Router

router = Router(tags=["access-traceback"])
