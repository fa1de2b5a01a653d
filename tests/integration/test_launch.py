"""`python -m leadapp.launch` (what `make run` starts), run for real: with no REDIS_URL it starts its own
Redis; Ctrl-C stops every program it started; one program dying stops the others.

The web app is left out (`--no-web`): its production build takes minutes and shares the checkout's
`.web/` folder with the browser suite, which already runs the launcher with it. Everything listens on
127.0.0.1 on free ports; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import redis
from rq import Worker

from leadapp import launch
from leadapp.core.settings import ROOT
from tests.integration.programs import program_output, unused_port, wait_until

START_TIMEOUT = 60.0
STOP_TIMEOUT = 45.0


@dataclass
class Launched:
    proc: subprocess.Popen[bytes]
    log_path: Path
    redis_port: int
    bridge_port: int
    redis_dir: Path

    def programs(self) -> list[psutil.Process]:
        """Every process the launcher started (its children and theirs), while it runs."""
        return psutil.Process(self.proc.pid).children(recursive=True)

    def output(self) -> str:
        """The end of the launcher's output (for failure messages)."""
        return program_output(self.log_path)

    def full_output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _listening(port: int) -> bool:
    try:
        with redis.Redis(port=port, host="127.0.0.1", socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _bridge_healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_registered(port: int) -> bool:
    try:
        with redis.Redis(port=port, host="127.0.0.1", socket_connect_timeout=0.5) as client:
            return len(Worker.all(connection=client)) >= 1
    except redis.RedisError:
        return False


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited; only its parent's bookkeeping is left
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """The launcher, up: its private Redis answers, the voice bridge is healthy, an RQ worker is registered."""
    yield from _launch(tmp_path, [])


@pytest.fixture
def launched_scaled(tmp_path: Path) -> Iterator[Launched]:
    """The launcher with `--scale 2`: two voice bridges behind the reverse proxy on VOICE_BRIDGE_PORT."""
    yield from _launch(tmp_path, ["--scale", "2"])


def _launch(tmp_path: Path, extra: list[str]) -> Iterator[Launched]:
    if (ROOT / ".env").exists() and "REDIS_URL=" in (ROOT / ".env").read_text():
        pytest.skip("the checkout's .env sets REDIS_URL, so the launcher would not start its own Redis")
    redis_port, bridge_port = unused_port(), unused_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        PRIVATE_REDIS_PORT=str(redis_port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'launch.db'}",
        VOICE_BRIDGE_PORT=str(bridge_port),
        VOICE_BRIDGE_URL=f"http://127.0.0.1:{bridge_port}",
        SEED_DEMO="false",
        SENTRY_DSN="",
        ENVIRONMENT="test",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "launch.log"
    redis_dir = tmp_path / "redis"
    with log_path.open("wb") as log:
        # Its own process group, like a terminal's foreground job: Ctrl-C is SIGINT to that group.
        argv = [sys.executable, "-m", "leadapp.launch", "--no-web", "--workers", "1", "--redis-dir", str(redis_dir)]
        proc = subprocess.Popen(
            [*argv, *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    launched = Launched(proc, log_path, redis_port, bridge_port, redis_dir)
    try:
        for check, what in (
            (lambda: _listening(redis_port), f"the private Redis on port {redis_port}"),
            (lambda: _bridge_healthy(bridge_port), "the voice bridge's /health"),
            (lambda: _worker_registered(redis_port), "an RQ worker registered in the private Redis"),
        ):
            wait_until(lambda: check() or proc.poll() is not None, what, log_path, START_TIMEOUT)
            assert proc.poll() is None, f"the launcher exited with {proc.returncode}:\n{launched.output()}"
        yield launched
    finally:
        leftovers = _descendants_or_empty(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()


def _descendants_or_empty(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _names(processes: list[psutil.Process]) -> list[str]:
    names = []
    for process in processes:
        try:
            names.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
        except psutil.Error:
            names.append(f"{process.pid} (gone)")
    return names


def _assert_all_stopped(launched: Launched, programs: list[psutil.Process]) -> None:
    deadline = time.monotonic() + 10  # grandchildren re-parented to init may take a moment to be reaped
    while time.monotonic() < deadline and not all(_gone(p) for p in programs):
        time.sleep(0.1)
    left = [p for p in programs if not _gone(p)]
    assert left == [], f"still running: {_names(left)}\n{launched.output()}"
    assert not _listening(launched.redis_port), "the private Redis still answers"
    assert not _bridge_healthy(launched.bridge_port), "the voice bridge still answers"


def _ctrl_c_stops_all(launched: Launched, programs: list[psutil.Process]) -> None:
    """Ctrl-C (SIGINT to the launcher's process group) ends the launcher with code 0 and stops every program."""
    os.killpg(launched.proc.pid, signal.SIGINT)
    try:
        code = launched.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the launcher did not stop within {STOP_TIMEOUT} s of Ctrl-C:\n{launched.output()}")
    assert code == 0, launched.output()
    _assert_all_stopped(launched, programs)


def test_without_redis_url_the_launcher_starts_a_private_redis_that_the_programs_use(launched: Launched) -> None:
    programs = launched.programs()
    commands = _names(programs)
    assert any("redis-server" in c and f"127.0.0.1:{launched.redis_port}" in c for c in commands), commands
    assert any("-m voice_bridge" in c for c in commands), commands
    assert any("-m worker" in c for c in commands), commands
    assert launched.redis_dir.is_dir()  # the private Redis keeps its data where it was told
    assert "starting private redis" in launched.full_output()


def test_ctrl_c_stops_every_program_and_exits_0(launched: Launched) -> None:
    programs = launched.programs()
    assert len(programs) >= 4, _names(programs)  # redis, bridge, worker supervisor, its RQ worker (and cron)
    _ctrl_c_stops_all(launched, programs)


def _bridge_process(launched: Launched) -> psutil.Process | None:
    """The running voice bridge (not the one just killed, a zombie until the launcher reaps it)."""
    for process in launched.programs():
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE and "-m voice_bridge" in " ".join(process.cmdline()):
                return process
    return None


def _new_bridge(launched: Launched, old: psutil.Process) -> psutil.Process:
    """The voice bridge the launcher started in place of `old`, once it answers its health check."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        bridge = _bridge_process(launched)
        if bridge is not None and bridge.pid != old.pid and _bridge_healthy(launched.bridge_port):
            return bridge
        assert launched.proc.poll() is None, f"the launcher stopped:\n{launched.output()}"
        time.sleep(0.2)
    pytest.fail(f"no new voice bridge answered within {START_TIMEOUT} s:\n{launched.output()}")


def test_a_program_that_dies_is_started_again_and_the_others_keep_running(launched: Launched) -> None:
    bridge = _bridge_process(launched)
    assert bridge is not None, _names(launched.programs())
    others = [p for p in launched.programs() if p.pid != bridge.pid]
    bridge.kill()
    _new_bridge(launched, bridge)
    assert "voice bridge exited with code -9; starting it again" in launched.full_output()
    assert all(not _gone(p) for p in others), _names(others)
    assert _worker_registered(launched.redis_port)


def test_a_program_in_a_crash_loop_stops_everything_and_the_launcher_exits_non_zero(launched: Launched) -> None:
    programs = launched.programs()
    bridge = _bridge_process(launched)
    assert bridge is not None
    for _ in range(launch.RESTARTS_ALLOWED):  # each death within the window is forgiven, up to the limit
        bridge.kill()
        bridge = _new_bridge(launched, bridge)
        programs.append(bridge)
    bridge.kill()  # one more: a crash loop
    try:
        code = launched.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the launcher kept running {STOP_TIMEOUT} s into the bridge's crash loop:\n{launched.output()}")
    assert code != 0
    assert f"more than {launch.RESTARTS_ALLOWED} times" in launched.full_output()
    _assert_all_stopped(launched, programs)


def test_scaled_out_two_bridges_answer_behind_the_proxy_and_ctrl_c_stops_them_all(launched_scaled: Launched) -> None:
    programs = launched_scaled.programs()
    commands = _names(programs)
    bridges = [c for c in commands if "-m voice_bridge" in c]
    assert len(bridges) == 2, commands
    assert any("caddy run" in c for c in commands), commands
    # Twilio's one address is the proxy's: every request is answered, whichever bridge takes it.
    for _ in range(6):
        assert _bridge_healthy(launched_scaled.bridge_port)
    _ctrl_c_stops_all(launched_scaled, programs)
