"""Demo: entry passes for residents and gate logs over weeks (A1, A2)."""
