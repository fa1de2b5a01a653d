"""Admin queue health: jobs waiting, running and failed on each RQ queue, with retry and delete for a failed job
(through `services.admin_ops`, as the logged-in admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.filters import instant_select, label
from leadapp.components.layout import guarded_page
from leadapp.components.table import Column, data_table, empty_state, row_action
from leadapp.components.text import note
from leadapp.core.services import admin_ops
from leadapp.core.tasks import ALL_QUEUES, NOTIFICATIONS
from leadapp.pages.admin.ops_frame import OpsState, as_admin, messages, ops_header, reload_button
from leadapp.state.auth import AuthState


class QueuesState(OpsState, AuthState):
    queues: list[dict[str, str]] = []
    selected_queue: str = NOTIFICATIONS
    jobs: list[dict[str, str]] = []

    def _fetch(self) -> None:
        counts, error = as_admin(self, lambda s, u: admin_ops.queue_overview(u))
        if counts is None:
            self.queues, self.jobs, self.error = [], [], error
            return
        self.queues = [
            {
                "name": c.name,
                "queued": str(c.queued),
                "started": str(c.started),
                "failed": str(c.failed),
                "scheduled": str(c.scheduled),
                "deferred": str(c.deferred),
            }
            for c in counts
        ]
        jobs, error = as_admin(self, lambda s, u: admin_ops.failed_jobs(u, self.selected_queue))
        if jobs is None:
            self.jobs, self.error = [], error
            return
        self.jobs = [
            {
                "id": j.id,
                "func": j.func,
                "args": j.args,
                "enqueued_at": j.enqueued_at,
                "ended_at": j.ended_at,
                "error_summary": j.error_summary,
                "error": j.error,
            }
            for j in jobs
        ]

    @rx.event
    def select_queue(self, name: str):
        self.selected_queue = name if name in ALL_QUEUES else NOTIFICATIONS
        self._refetch()

    def _job_action(self, action: Callable[..., Any], job_id: str, done: Callable[[str], str]):
        """Run `action(session, admin, queue, job_id)` on a failed job of the shown queue, say `done(queue)` or why
        not, and show the queue again."""
        self.error, self.notice = "", ""
        queue = self.selected_queue
        _, self.error = as_admin(self, lambda s, u: action(s, u, queue, job_id))
        if not self.error:
            self.notice = done(queue)
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def retry_job(self, job_id: str):
        return self._job_action(
            admin_ops.retry_failed_job, job_id, lambda queue: f"Job {job_id} is back on the {queue} queue."
        )

    @rx.event
    def delete_job(self, job_id: str):
        return self._job_action(admin_ops.delete_failed_job, job_id, lambda _queue: f"Job {job_id} was deleted.")


def _failed_count(row: rx.Var) -> rx.Component:
    return rx.link(
        rx.badge(row["failed"], color_scheme=rx.cond(row["failed"] != "0", "red", "gray")),
        on_click=QueuesState.select_queue(row["name"]),
        cursor="pointer",
        aria_label="Show failed jobs of " + row["name"],
    )


QUEUE_COLUMNS = [
    Column("Queue", lambda row: rx.text(row["name"], weight="medium")),
    Column("Queued", lambda row: row["queued"], cell_props={"class_name": "count-queued"}),
    Column("Running", lambda row: row["started"], cell_props={"class_name": "count-started"}),
    Column("Failed", _failed_count, cell_props={"class_name": "count-failed"}),
    Column("Scheduled", lambda row: row["scheduled"], cell_props={"class_name": "count-scheduled"}),
    Column("Deferred", lambda row: row["deferred"], cell_props={"class_name": "count-deferred"}),
]


def _failed_job_card(job: rx.Var) -> rx.Component:
    return stacked_card(
        rx.flex(
            rx.code(job["func"], size="2"),
            note(job["args"], size="1"),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        rx.text(job["error_summary"], size="2", color_scheme="red", class_name="job-error"),
        note("Job ", job["id"], " · failed ", job["ended_at"], size="1", word_break="break-all"),
        rx.el.details(
            rx.el.summary("Traceback", class_name="code-toggle"),
            rx.el.pre(
                job["error"],
                class_name="code-block",
            ),
        ),
        rx.hstack(
            rx.button("Retry", size="1", on_click=QueuesState.retry_job(job["id"]), class_name="retry-job"),
            row_action(
                "Delete", color_scheme="red", on_click=QueuesState.delete_job(job["id"]), class_name="delete-job"
            ),
            spacing="2",
        ),
        class_name="failed-job-row",
        data_job=job["id"],
    )


def queues_page() -> rx.Component:
    return guarded_page(
        "admin",
        ops_header(
            "Queues",
            "queues-heading",
            reload_button(QueuesState.load),
        ),
        messages(QueuesState.error, QueuesState.notice),
        data_table(
            QUEUE_COLUMNS,
            QueuesState.queues,
            table_id="queue-table",
            label="Queues",
            row_props=lambda row: {"class_name": "queue-row", "data_queue": row["name"]},
            empty=empty_state("No queue answered.", "Check Redis and the worker on the Health page.", icon="layers"),
        ),
        rx.hstack(
            label("Failed jobs of", "failed-queue"),
            instant_select(
                "failed-queue",
                [(name, name) for name in ALL_QUEUES],
                QueuesState.selected_queue,
                QueuesState.select_queue,
            ),
            align="center",
            wrap="wrap",
            margin_top="1.5em",
        ),
        rx.vstack(rx.foreach(QueuesState.jobs, _failed_job_card), spacing="3", width="100%", id="failed-job-list"),
        rx.cond(
            QueuesState.jobs.length() == 0,
            empty_state(
                "No failed jobs on this queue.",
                "Jobs that fail after their retries wait here to be retried or deleted.",
                icon="circle-check",
                empty_id="failed-empty",
            ),
        ),
    )
