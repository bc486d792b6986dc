"""Citizen tickets (C1-C3): multi-channel intake, classification, merging of the same clue,
dispatch and handling, the daily ticket report, notices and answers."""
