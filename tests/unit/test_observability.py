"""Error reporting: with SENTRY_DSN, errors reach a Sentry endpoint (a local one here); without, nothing is sent."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60

# configure() runs once per process, so each scenario runs in its own interpreter.
SCRIPT = """
import sentry_sdk
from leadapp.core import observability

observability.configure("pytest")
print("sentry-active", sentry_sdk.get_client().is_active(), flush=True)
try:
    raise ValueError("boom")
except ValueError as exc:
    observability.report_exception(exc, lead_id=7)
sentry_sdk.flush(timeout=10)
"""


def _run(dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update({"SENTRY_DSN": dsn, "ENVIRONMENT": "test", "LOG_JSON": "true", "PYTHONPATH": str(ROOT)})
    env.update(
        {"NO_PROXY": "127.0.0.1,localhost", "HTTP_PROXY": "", "HTTPS_PROXY": "", "http_proxy": "", "https_proxy": ""}
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def _body(request: Request) -> bytes:
    data = request.get_data()
    encoding = request.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    if encoding == "br":
        import brotli

        return brotli.decompress(data)
    return data


def _events(body: bytes) -> list[dict]:
    """The `event` items of a Sentry envelope (header line, then item header / payload pairs)."""
    lines = body.split(b"\n")
    events, i = [], 1
    while i + 1 < len(lines):
        header = json.loads(lines[i])
        if header.get("type") == "event":
            events.append(json.loads(lines[i + 1]))
        i += 2
    return events


@pytest.fixture
def sentry_endpoint(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_json({"id": "0" * 32})
    return httpserver


def test_report_exception_sends_an_envelope_to_the_configured_dsn(sentry_endpoint: HTTPServer) -> None:
    dsn = f"http://public@127.0.0.1:{sentry_endpoint.port}/1"
    result = _run(dsn)
    assert "sentry-active True" in result.stdout
    envelopes = [_body(request) for request, _response in sentry_endpoint.log]
    assert envelopes, f"no request reached the local Sentry endpoint; stderr:\n{result.stderr}"
    assert all(request.path == "/api/1/envelope/" for request, _ in sentry_endpoint.log)
    assert any(b"boom" in body for body in envelopes)
    events = [event for body in envelopes for event in _events(body)]
    assert len(events) == 1
    event = events[0]
    exception = event["exception"]["values"][-1]
    assert (exception["type"], exception["value"]) == ("ValueError", "boom")
    assert event["extra"]["lead_id"] == 7
    assert event["environment"] == "test"
    assert event["server_name"] == "pytest"
    auth = sentry_endpoint.log[0][0].headers.get("X-Sentry-Auth", "")
    assert "sentry_key=public" in auth
    sentry_endpoint.check_assertions()
    # The error is also logged, with its context, whatever Sentry does.
    assert "unhandled_error" in result.stderr and "boom" in result.stderr and '"lead_id": 7' in result.stderr


def test_without_a_dsn_nothing_is_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/1/envelope/", method="POST").respond_with_json({})
    result = _run("")
    assert "sentry-active False" in result.stdout
    assert httpserver.log == []
    # The error is still logged.
    assert "unhandled_error" in result.stderr and "boom" in result.stderr


API_ALONE = """
from starlette.testclient import TestClient
from leadapp.api.app import api
from leadapp.core.observability import get_logger

with TestClient(api):
    get_logger("served-alone").info("below_the_level", email="someone@example.com")
    get_logger("served-alone").warning("at_the_level", email="someone@example.com")
"""


def test_the_api_served_alone_sets_up_logging_like_every_program() -> None:
    """`uvicorn leadapp.api.app:api` (no web around it): LOG_LEVEL holds and personal data is scrubbed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update({"ENVIRONMENT": "test", "LOG_JSON": "true", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    result = subprocess.run(
        [sys.executable, "-c", API_ALONE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "below_the_level" not in output
    (line,) = [json.loads(x) for x in output.splitlines() if "at_the_level" in x]
    assert line["program"] == "api"
    assert "someone@example.com" not in output
