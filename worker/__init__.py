"""The RQ worker program: queues, jobs (thin wrappers over services) and the cron schedule.

Run it with `python -m worker` (see `worker/__main__.py`).
"""
