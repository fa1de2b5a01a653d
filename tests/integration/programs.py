"""Helpers for tests that run LeadApp's programs (worker, voice bridge) as real subprocesses, or race their
transactions against each other on PostgreSQL.

Everything listens on 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from leadapp.core import broker
from leadapp.core.settings import ROOT, get_settings

PROCESS_START_TIMEOUT = 30.0
PROCESS_STOP_TIMEOUT = 30.0


def waiting_on_a_lock(engine: Any) -> bool:
    """True while a session of `engine`'s PostgreSQL database waits on a lock (a racing transaction blocked)."""
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return waiting > 0


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (also serves as a "closed port")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clear_settings_caches() -> None:
    """Forget cached settings and Redis clients so a changed environment takes effect."""
    get_settings.cache_clear()
    broker.redis_for.cache_clear()


def program_env(**overrides: str) -> dict[str, str]:
    """The environment for a child program: this process's (with the test's settings) plus `overrides`."""
    env = dict(os.environ)
    env.update({"SENTRY_DSN": "", "ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1"})
    env.update(overrides)
    return env


def start_program(args: list[str], log_path: Path, env: dict[str, str], new_session: bool = False) -> subprocess.Popen:
    """Start `python <args>` in the project root with output going to `log_path`."""
    log_file = log_path.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    finally:
        log_file.close()  # the child keeps its own descriptor


def stop_program(proc: subprocess.Popen, timeout: float = PROCESS_STOP_TIMEOUT) -> None:
    """SIGTERM `proc` and wait; SIGKILL it (and its process group when it leads one) if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.kill()
        proc.wait(timeout=10)


def wait_for_http(
    url: str,
    proc: subprocess.Popen,
    log_path: Path,
    timeout: float = PROCESS_START_TIMEOUT,
    statuses: tuple[int, ...] = (200,),
) -> None:
    """Poll `url` until it answers with one of `statuses`; fail the test with the program's output if `proc` exits
    first or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the program exited with {proc.returncode} before {url} answered:\n{program_output(log_path)}")
        try:
            if httpx.get(url, timeout=2.0).status_code in statuses:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{program_output(log_path)}")
        time.sleep(0.1)


def start_voice_bridge(
    log_path: Path, healthy: tuple[int, ...] = (200, 503), timeout: float = PROCESS_START_TIMEOUT
) -> tuple[subprocess.Popen, str]:
    """The real voice bridge (`python -m voice_bridge`) on a free loopback port, once its /health answers with one
    of `healthy`: (process, base URL). Fails the test with the bridge's output if it exits or stays silent for
    `timeout` s; the caller stops it (`stop_program`)."""
    port = unused_port()
    proc = start_program(["-m", "voice_bridge", "--host", "127.0.0.1", "--port", str(port)], log_path, program_env())
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", proc, log_path, timeout, healthy)
    except BaseException:
        stop_program(proc)
        raise
    return proc, url


def program_output(log_path: Path) -> str:
    """The last part of a program's output, for assertion messages."""
    try:
        return log_path.read_text(errors="replace")[-6000:]
    except OSError:
        return ""


def wait_until(
    condition: Callable[[], object], what: str, log_path: Path, timeout: float = PROCESS_START_TIMEOUT
) -> None:
    """Poll `condition` every 0.1 s until it is truthy; fail with the program's output after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}; program output:\n{program_output(log_path)}")
        time.sleep(0.1)


@contextlib.asynccontextmanager
async def served_in_loop(app: Any, **config: Any) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """`app` under uvicorn in the running event loop on a free loopback port: (server, port); stopped on exit."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **config))
    running = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not running.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield server, server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(running, 10)
