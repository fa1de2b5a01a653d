"""Reflex states: they call services and hold what the page shows, nothing else."""
