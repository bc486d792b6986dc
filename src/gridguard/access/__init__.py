"""Access control: signed entry passes, gate scanning, visitors and vehicles, checkpoints,
trace-back (MISSION.md A1 to A4)."""
