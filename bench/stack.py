"""Start and stop the pieces a benchmark needs: a private Redis, a fresh database, the programs."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from leadapp.launch import redis_server_argv

ROOT = Path(__file__).resolve().parents[1]
ADMIN_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {seconds:.0f} s")


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


class Stack:
    """Processes and temporary resources, stopped and removed (in reverse order) on exit."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="leadapp-bench-"))
        self.env = dict(os.environ)
        self.env.update(ENVIRONMENT="bench", LOG_LEVEL="WARNING", SEED_DEMO="true", SENTRY_DSN="")
        self.env.pop("ANTHROPIC_API_KEY", None)
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._cleanups: list = []

    def start(self, name: str, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            argv, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._procs.append((name, proc))
        return proc

    def redis(self) -> str:
        port = free_port()
        self.start("redis", redis_server_argv(port))
        import redis as redis_lib

        client = redis_lib.Redis(port=port, socket_connect_timeout=1)
        wait_for(client.ping, 15, "redis")
        url = f"redis://127.0.0.1:{port}/0"
        self.env["REDIS_URL"] = url
        return url

    def database(self, kind: str) -> str:
        if kind == "postgres":
            import psycopg

            name = f"leadapp_bench_{secrets.token_hex(4)}"
            with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')

            def drop() -> None:
                with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            self._cleanups.append(drop)
            base = ADMIN_POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            url = f"{base}/{name}"
        else:
            url = f"sqlite:///{self.workdir / 'bench.db'}"
        return self.use_database(url)

    def use_database(self, url: str) -> str:
        """Migrate and seed the database at `url` and point the programs at it."""
        self.env["DATABASE_URL"] = url
        for step in (["migrate"], ["seed", "--if-enabled"]):
            subprocess.run(
                [sys.executable, "-m", "leadapp.cli", *step],
                cwd=ROOT,
                env=self.env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        return url

    def api(self, name: str = "api", port: int = 0) -> str:
        """The public API (the Starlette app the web backends mount) on `port` (a free one by default)."""
        port = port or free_port()
        self.start(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "leadapp.api.app:api",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--no-proxy-headers",  # the client is core.client_ip's (TRUSTED_PROXIES), as behind the web server
            ],
            TRUSTED_PROXIES="127.0.0.1",  # the bench posts as the proxy in front of many clients
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200, 30, "api")
        return url

    def worker(self, workers: int, name: str = "worker", cron: bool = False) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "worker", "--workers", str(workers)]
        return self.start(name, argv if cron else [*argv, "--no-cron"])

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each started program and its child processes (Linux /proc)."""
        import os as _os

        tick = _os.sysconf("SC_CLK_TCK")
        out: dict[str, float] = {}
        for name, proc in self._procs:
            total = 0.0
            for pid in _process_tree(proc.pid):
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / tick
                except (OSError, IndexError, ValueError):
                    continue
            out[name] = out.get(name, 0.0) + total
        return out

    def app(self, workers: int = 1) -> str:
        """The whole product as `make run` starts it (production web build), on free ports; returns its URL."""
        web_port, bridge_port = free_port(), free_port()
        self.start(
            "app",
            [sys.executable, "-m", "leadapp.launch", "--web-port", str(web_port), "--workers", str(workers)],
            VOICE_BRIDGE_PORT=str(bridge_port),
            VOICE_BRIDGE_URL=f"http://127.0.0.1:{bridge_port}",
            APP_URL=f"http://localhost:{web_port}",
        )
        url = f"http://localhost:{web_port}"
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{web_port}/", timeout=2).status_code == 200, 300, "web app")
        return url

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in reversed(self._procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    s = Stack()
    try:
        yield s
    finally:
        s.stop()
