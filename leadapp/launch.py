"""`python -m leadapp.launch` (what `make run` starts): every LeadApp program, together.

Starts a private Redis when REDIS_URL is not configured, migrates the database, seeds the demo data
on first start, then runs the voice bridge, the worker and the web app until Ctrl-C, which stops
them all. A program that dies is started again, as a supervisor would (a web backend's open tabs reconnect
to it or, scaled out, to another backend); one that keeps dying (more than RESTARTS_ALLOWED times within
RESTART_WINDOW_SECONDS) stops everything, and the exit code says so.

`--no-web` runs only the worker and the voice bridge (a machine that serves no web app; the launcher's tests).
`--scale N` (`make run SCALE=N`) runs N web backends and N voice bridges behind a reverse proxy (Caddy),
with page state in Redis, as several machines behind a load balancer would (see DEPLOY.md).
The private Redis listens on 127.0.0.1:PRIVATE_REDIS_PORT and keeps its data in `--redis-dir` (var/redis).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from leadapp import proxy
from leadapp.core import db_roles
from leadapp.core.settings import ROOT, get_settings, production_refusal

STOP_GRACE_SECONDS = 15
BUILD_SECONDS = 600  # the production front-end build, on a loaded 2-core machine
RESTARTS_ALLOWED = 3
RESTART_WINDOW_SECONDS = 60.0
# How each program was started (argv, environment), by name: what starting it again runs.
_COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {}


def _redis_configured() -> bool:
    if os.environ.get("REDIS_URL"):
        return True
    env_file = ROOT / ".env"
    return env_file.exists() and any(
        line.strip().startswith("REDIS_URL=") for line in env_file.read_text().splitlines()
    )


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return True
        time.sleep(0.2)
    return False


def _start(name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"[launch] starting {name}: {' '.join(argv)}", flush=True)
    _COMMANDS[name] = (argv, dict(env))
    return subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)


class Deaths:
    """When each program died lately: a program may die RESTARTS_ALLOWED times within the window and be
    started again; one more death in that window is a crash loop, and restarting it would only hide it."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}

    def one_more(self, name: str, now: float) -> bool:
        """Count a death of `name`; True while it may still be started again."""
        recent = [t for t in self._times.get(name, []) if now - t < RESTART_WINDOW_SECONDS] + [now]
        self._times[name] = recent
        return len(recent) <= RESTARTS_ALLOWED


def _supervise(procs: dict[str, subprocess.Popen[bytes]], deaths: Deaths) -> int:
    """Start again each program that exited; 0 while all run, else the exit code to stop everything with."""
    for name, proc in list(procs.items()):
        if proc.poll() is None:
            continue
        # A program killed by a signal has a negative return code; the launcher still exits non-zero.
        code = proc.returncode if proc.returncode > 0 else 1
        if not deaths.one_more(name, time.monotonic()) or name not in _COMMANDS:
            print(
                f"[launch] {name} exited with code {proc.returncode}, more than {RESTARTS_ALLOWED} times within "
                f"{RESTART_WINDOW_SECONDS:.0f} s; stopping everything",
                flush=True,
            )
            return code
        print(f"[launch] {name} exited with code {proc.returncode}; starting it again", flush=True)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # what it left running (e.g. a server
            os.killpg(proc.pid, signal.SIGKILL)  # child still holding the port) goes with it
        procs[name] = _start(name, *_COMMANDS[name])
    return 0


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Stop the programs in reverse start order (so the private Redis outlives the worker)."""
    for name, proc in reversed(list(procs.items())):
        if proc.poll() is None:
            print(f"[launch] stopping {name}", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        # The bridge first lets its calls in progress end (BRIDGE_DRAIN_SECONDS): it gets that long on top.
        grace = STOP_GRACE_SECONDS + (get_settings().bridge_drain_seconds if name == "voice bridge" else 0)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m leadapp.launch")
    parser.add_argument("--dev", action="store_true", help="Reflex dev mode: hot reload, backend on its own port")
    parser.add_argument("--web-port", type=int, default=settings.web_port)
    parser.add_argument("--backend-port", type=int, default=settings.backend_port)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument(
        "--scale", type=int, default=1, help="web backends and voice bridges behind a reverse proxy (Caddy)"
    )
    parser.add_argument(
        "--no-web", action="store_true", help="only the worker and the voice bridge (a machine serving no web app)"
    )
    parser.add_argument(
        "--redis-dir", type=Path, default=ROOT / "var" / "redis", help="data folder of the private Redis"
    )
    return parser.parse_args(argv)


def redis_server_argv(port: int, *, data_dir: Path | None = None, save: str = "") -> list[str]:
    """redis-server on 127.0.0.1:`port` without an append-only file: snapshots only as `save` says ("60 1": after
    a minute with a change; "": none), into `data_dir` when given. `make run`'s private Redis, the tests' and the
    benches' all start from this line."""
    argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    if data_dir is not None:
        argv += ["--dir", str(data_dir)]
    return [*argv, "--save", save, "--appendonly", "no"]


def _start_private_redis(
    port: int, data_dir: Path, env: dict[str, str], procs: dict[str, subprocess.Popen[bytes]]
) -> bool:
    """Start redis-server on 127.0.0.1:`port` (or reuse one already there); False if that fails."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if _port_open("127.0.0.1", port):
        print(f"[launch] reusing the Redis already on 127.0.0.1:{port}", flush=True)
        return True
    if shutil.which("redis-server") is None:
        print("[launch] redis-server is not installed; run `make run` (it installs it) or set REDIS_URL.")
        return False
    procs["redis"] = _start("private redis", redis_server_argv(port, data_dir=data_dir, save="60 1"), env)
    if not _wait_for_port("127.0.0.1", port, 15):
        print("[launch] the private Redis did not start")
        return False
    return True


def _database_roles(env: dict[str, str]) -> int:
    """PostgreSQL: make the programs connect as a role row-level security applies to.

    With a superuser in DATABASE_URL (and no DATABASE_OWNER_URL), create `<db>_owner` and `<db>_app` and use
    them: migrations as the owner, the programs as the application role. Otherwise check the role the programs
    will use, and refuse to start in production if row-level security would not apply to it.
    """
    settings = get_settings()
    url = settings.database_url
    if not db_roles.is_postgres(url):
        return 0
    if not settings.database_owner_url and settings.database_manage_roles and db_roles.is_privileged(url):
        roles = db_roles.provision(url)
        env["DATABASE_OWNER_URL"], env["DATABASE_URL"] = roles.owner_url, roles.app_url
        owner, app = db_roles.role_names(make_url(url).database or "postgres")
        print(
            f"[launch] PostgreSQL: migrations run as {owner}, the programs connect as {app} "
            "(owns no table, no BYPASSRLS: row-level security applies)",
            flush=True,
        )
        return 0
    problems = db_roles.app_role_problems(url)
    for problem in problems:
        print(f"[launch] DATABASE_URL: {problem}", flush=True)
    if problems and settings.environment == "production":
        print(
            "[launch] refusing to start in production: set DATABASE_URL to a role that owns no table and has no "
            "BYPASSRLS, and DATABASE_OWNER_URL to the tables' owner (see README, PostgreSQL roles)",
            flush=True,
        )
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    env = dict(os.environ)
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    env["REFLEX_USE_SYSTEM_BUN"] = "1"
    tools_bin = ROOT / ".tools" / "node_modules" / ".bin"
    venv_bin = Path(sys.executable).parent
    env["PATH"] = os.pathsep.join([str(tools_bin), str(venv_bin), env.get("PATH", "")])
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # Every program runs in its own session (so a terminal's Ctrl-C reaches only this process, which then
    # stops them in order): whatever happens here, including a Ctrl-C during start-up, they are stopped.
    try:
        return _run(args, env, procs)
    except KeyboardInterrupt:
        return 130
    finally:
        _stop(procs)


def _run(args: argparse.Namespace, env: dict[str, str], procs: dict[str, subprocess.Popen[bytes]]) -> int:
    refusal = production_refusal("launcher")
    if refusal:
        print(f"[launch] {refusal}", flush=True)
        return 2
    if not _redis_configured():
        port = get_settings().private_redis_port
        if not _start_private_redis(port, args.redis_dir.resolve(), env, procs):
            return 2
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"

    code = _database_roles(env)
    if code:
        return code

    python = sys.executable
    # Migrate and seed in a child so it sees exactly the environment the programs will see.
    step = subprocess.run([python, "-m", "leadapp.cli", "migrate"], cwd=ROOT, env=env)
    if step.returncode != 0:
        return step.returncode
    seed = subprocess.run([python, "-m", "leadapp.cli", "seed", "--if-enabled"], cwd=ROOT, env=env)
    if seed.returncode != 0:
        return seed.returncode

    env.setdefault("APP_URL", f"http://localhost:{args.web_port}")
    if args.scale > 1:
        code = _start_scaled(args, env, procs)
        if code:
            return code
    else:
        procs["voice bridge"] = _start("voice bridge", [python, "-m", "voice_bridge"], env)
        procs["worker"] = _start("worker", [python, "-m", "worker", "--workers", str(args.workers)], env)
        if not args.no_web:
            web = [python, "-m", "reflex", "run", "--frontend-port", str(args.web_port)]
            if args.dev:
                web += ["--backend-port", str(args.backend_port)]
            else:
                web += ["--env", "prod"]
            procs["web"] = _start("web", web, env)

    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    announced = False
    code = 0
    deaths = Deaths()
    while not stopping:
        code = _supervise(procs, deaths)
        if code:
            break
        if not announced and args.no_web:
            announced = True
            print("\n[launch] the worker and the voice bridge are running. Ctrl-C stops everything.\n", flush=True)
        if not announced and _port_open("127.0.0.1", args.web_port):
            announced = True
            print(
                f"\n[launch] LeadApp is up: open http://localhost:{args.web_port}/ and log in with a demo account "
                "listed above. Ctrl-C stops everything.\n",
                flush=True,
            )
        time.sleep(0.5)
    return code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_scaled(args: argparse.Namespace, env: dict[str, str], procs: dict[str, subprocess.Popen[bytes]]) -> int:
    """N web backends and N voice bridges behind Caddy; page state in Redis so any backend serves any tab.

    The front end is built and served once (static files); the backends only run the app. The browser and
    Twilio see one address each (`--web-port`, VOICE_BRIDGE_PORT), as they would behind a load balancer.
    """
    python = sys.executable
    bridge_port = get_settings().voice_bridge_port
    if env.get("VOICE_BRIDGE_PORT"):
        bridge_port = int(env["VOICE_BRIDGE_PORT"])
    up = proxy.Upstreams(
        web_port=args.web_port,
        frontend_port=_free_port(),
        backend_ports=tuple(_free_port() for _ in range(args.scale)),
        bridge_port=bridge_port,
        bridge_ports=tuple(_free_port() for _ in range(args.scale)),
    )
    # The proxy is the only client of the backends and bridges: the client's address is the one it forwards.
    env.update(
        REFLEX_STATE_IN_REDIS="true",
        GRANIAN_WORKERS="1",
        REFLEX_API_URL=f"http://localhost:{args.web_port}",
        REFLEX_DEPLOY_URL=env.get("APP_URL", f"http://localhost:{args.web_port}"),
        TRUSTED_PROXIES=env.get("TRUSTED_PROXIES") or "127.0.0.1,::1",
    )
    for i, port in enumerate(up.bridge_ports, 1):
        bridge_env = {**env, "VOICE_BRIDGE_PORT": str(port)}
        procs[f"voice bridge {i}"] = _start(f"voice bridge {i}", [python, "-m", "voice_bridge"], bridge_env)
    procs["worker"] = _start("worker", [python, "-m", "worker", "--workers", str(args.workers)], env)
    if args.no_web:
        up = proxy.Upstreams(0, 0, (), bridge_port=up.bridge_port, bridge_ports=up.bridge_ports)
    else:
        reflex = [python, "-m", "reflex", "run", "--env", "prod"]
        front = [*reflex, "--frontend-only", "--frontend-port", str(up.frontend_port)]
        procs["web front end"] = _start("web front end", front, env)
        # The backends start once the front end is built (they share the .web folder it writes).
        if not _wait_for_port("127.0.0.1", up.frontend_port, BUILD_SECONDS):
            print("[launch] the web front end did not start", flush=True)
            return 2
        for i, port in enumerate(up.backend_ports, 1):
            back = [*reflex, "--backend-only", "--backend-port", str(port), "--backend-host", "127.0.0.1"]
            procs[f"web backend {i}"] = _start(f"web backend {i}", back, env)
        # The static pages get from the proxy the security headers the backends give their answers.
        fixed, policy = proxy.front_end_security(ROOT / ".web" / "build" / "client")
        up = dataclasses.replace(up, front_end_headers=fixed, page_policy=policy)
    caddy = proxy.start(up, ROOT / "var" / "proxy" / str(up.web_port or up.bridge_port), env)
    if caddy is None:
        print("[launch] SCALE needs Caddy: `make run SCALE=2` installs it (Debian package caddy)", flush=True)
        return 2
    procs["reverse proxy"] = caddy
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
