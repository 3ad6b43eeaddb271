"""The instructor's program health view, per-pair view and exports."""
