"""Test predictions to per-stratum metrics, seed-aware intervals, study tables and verdicts."""
