"""Access control records: street signing keys, entry passes, gate events, visitors,
vehicles, checkpoints, trace-backs (A1-A4).

A pass is a signed credential (access/credential.py, decision 0007) carrying no ID number and
no health data. Each street signs its passes with its own Ed25519 key; scanners verify them
against the trust list of public keys and the revocation list, both served by the API.
"""

from gridguard.access.models.checkpoints import (
    CheckOutcome,
    Checkpoint,
    CheckpointCheck,
    CheckpointKind,
)
from gridguard.access.models.gates import (
    GateEvent,
    GateVehicle,
    GateVisitor,
    VehicleDirection,
    Verdict,
)
from gridguard.access.models.passes import EntryPass, PassKind, PassStatus, SigningKey
from gridguard.access.models.traceback import TraceBack

__all__ = [
    "CheckOutcome",
    "Checkpoint",
    "CheckpointCheck",
    "CheckpointKind",
    "EntryPass",
    "GateEvent",
    "GateVehicle",
    "GateVisitor",
    "PassKind",
    "PassStatus",
    "SigningKey",
    "TraceBack",
    "VehicleDirection",
    "Verdict",
]
