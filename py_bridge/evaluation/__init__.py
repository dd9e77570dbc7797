"""Evaluation: score matrices, per-query statistics, thresholds, recognite-compatible metrics, the report."""
