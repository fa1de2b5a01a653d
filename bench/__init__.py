"""Benchmarks: scripts that start what they need, print their figures, and stop what they started."""
