"""The reverse proxy of a scaled-out run (`make run SCALE=2`): Caddy in front of several web backends and
voice bridges on one machine, as a load balancer does in front of several machines.

One address for the browser: the Reflex backends' paths (the event socket, uploads, health, the public
API and its webhooks) go to the backends in turn, everything else to the one static front-end server.
One address for Twilio: the voice bridges in turn (a media stream is one websocket, so it stays on the
bridge that accepted it; a call's state lives in the database, so any bridge serves its next webhook).
A backend that stops answering its health check is taken out until it answers again.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Paths the Reflex backend serves (reflex_base.constants.Endpoint) and the app's own API routes.
BACKEND_PATHS = ("/_event*", "/_upload*", "/ping", "/_health", "/_all_routes", "/auth-codespace", "/api/*")


@dataclass(frozen=True)
class Upstreams:
    web_port: int  # where browsers connect
    frontend_port: int  # the static front-end server
    backend_ports: tuple[int, ...]  # the Reflex backends
    bridge_port: int = 0  # where Twilio connects (0: no bridge behind the proxy)
    bridge_ports: tuple[int, ...] = ()  # the voice bridges


def _pool(ports: tuple[int, ...], health_uri: str) -> str:
    targets = " ".join(f"127.0.0.1:{port}" for port in ports)
    return (
        f"{targets} {{\n"
        "\t\tlb_policy round_robin\n"
        "\t\tlb_try_duration 5s\n"
        f"\t\thealth_uri {health_uri}\n"
        "\t\thealth_interval 2s\n"
        "\t\tfail_duration 10s\n"
        "\t}"
    )


def caddyfile(up: Upstreams) -> str:
    """The Caddy configuration for these upstreams (plain HTTP on loopback; TLS belongs to the edge)."""
    # Health-check failures while a backend starts are expected: only warnings and errors are logged.
    site = "{\n\tadmin off\n\tauto_https off\n\tlog {\n\t\tlevel WARN\n\t}\n}\n"
    if up.web_port:
        site += (
            f"\nhttp://:{up.web_port} {{\n"
            f"\t@backend path {' '.join(BACKEND_PATHS)}\n"
            f"\treverse_proxy @backend {_pool(up.backend_ports, '/ping')}\n"
            f"\treverse_proxy 127.0.0.1:{up.frontend_port}\n"
            "}\n"
        )
    if up.bridge_port and up.bridge_ports:
        site += f"\nhttp://:{up.bridge_port} {{\n\treverse_proxy {_pool(up.bridge_ports, '/health')}\n}}\n"
    return site


def start(up: Upstreams, workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """Write the configuration under `workdir` and start Caddy; None when Caddy is not installed."""
    caddy = shutil.which("caddy")
    if caddy is None:
        return None
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "Caddyfile"
    config.write_text(caddyfile(up))
    print(f"[launch] starting reverse proxy (Caddy) on :{up.web_port}: {config}", flush=True)
    # HOME/XDG dirs inside the run folder: Caddy writes its data (certificates) there, never in ~.
    caddy_env = {**env, "XDG_DATA_HOME": str(workdir / "data"), "XDG_CONFIG_HOME": str(workdir / "config")}
    return subprocess.Popen(
        [caddy, "run", "--config", str(config), "--adapter", "caddyfile"], env=caddy_env, start_new_session=True
    )
