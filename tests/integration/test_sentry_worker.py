"""A job that fails inside a real RQ worker reaches Sentry (a local endpoint here) as one event.

The worker is LeadApp's own `LeadWorker` (RQ's SimpleWorker: the job runs in the worker process), set up
by `observability.configure` exactly as `python -m worker` does, in a fresh interpreter (Sentry is
initialised once per process). Redis is a server of this test's own; the Sentry endpoint is on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys

from pytest_httpserver import HTTPServer

from leadapp.core.settings import ROOT
from tests.conftest import RedisProcess
from tests.unit.test_observability import _body, _events

TIMEOUT = 60

SCRIPT = """
import sentry_sdk
from rq import Queue

from leadapp.core.broker import get_redis
from leadapp.core.observability import configure
from worker.pool import LeadWorker
from worker.queues import ALL_QUEUES, PIPELINE


configure("worker")
connection = get_redis()
job = Queue(PIPELINE, connection=connection).enqueue("tests.integration.test_sentry_worker.explode", 42)
LeadWorker([Queue(name, connection=connection) for name in ALL_QUEUES], connection=connection).work(burst=True)
print("job-status", job.get_status(refresh=True).value, flush=True)
sentry_sdk.flush(timeout=10)
"""


def explode(lead_id: int) -> None:
    """The failing job (imported by the worker from this module)."""
    raise RuntimeError(f"job exploded on lead {lead_id}")


def test_a_job_failing_in_a_real_worker_sends_one_event_with_its_exception(
    httpserver: HTTPServer, own_redis: RedisProcess
) -> None:
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_json({"id": "0" * 32})
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update(
        SENTRY_DSN=f"http://public@127.0.0.1:{httpserver.port}/1",
        REDIS_URL=own_redis.url,
        ENVIRONMENT="test",
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1,localhost",
        HTTP_PROXY="",
        HTTPS_PROXY="",
        http_proxy="",
        https_proxy="",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "job-status failed" in result.stdout, result.stdout

    events = [event for request, _ in httpserver.log for event in _events(_body(request))]
    assert len(events) == 1, f"{len(events)} events reached the endpoint; stderr:\n{result.stderr[-3000:]}"
    exception = events[0]["exception"]["values"][-1]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "job exploded on lead 42")
    assert events[0]["server_name"] == "worker"
    assert events[0]["environment"] == "test"
