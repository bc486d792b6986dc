"""Demo: checkpoints with their logs, gate visitors and vehicles (A2, A3)."""
