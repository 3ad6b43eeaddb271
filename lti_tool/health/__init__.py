"""The instructor's view of a program: health figures and charts, per-pair detail, CSV exports."""
