"""The reverse proxy of a scaled-out run (`make run SCALE=2`): Caddy in front of several web backends and
voice bridges on one machine, as a load balancer does in front of several machines.

One address for the browser: the Reflex backends' paths (the event socket, uploads, health, the public
API and its webhooks) go to the backends in turn, everything else to the one static front-end server.
One address for Twilio: the voice bridges in turn (a media stream is one websocket, so it stays on the
bridge that accepted it; a call's state lives in the database, so any bridge serves its next webhook).
A backend that refuses a connection is taken out for a while and the request goes to another; a bridge whose
health check says "draining" is taken out until it says otherwise.

The front-end server sends bare static files, so the proxy gives its answers the security headers the
backends give theirs (`leadapp.api.headers`): the fixed ones on every answer, and on pages (a request that
accepts HTML) the Content-Security-Policy, whose script hashes are those of the built pages' inline scripts.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from leadapp.api import headers
from leadapp.core.settings import get_settings

# Paths the Reflex backend serves (reflex_base.constants.Endpoint) and the app's own API routes.
BACKEND_PATHS = ("/_event*", "/_upload*", "/ping", "/_health", "/_all_routes", "/auth-codespace", "/api/*")


@dataclass(frozen=True)
class Upstreams:
    web_port: int  # where browsers connect
    frontend_port: int  # the static front-end server
    backend_ports: tuple[int, ...]  # the Reflex backends
    bridge_port: int = 0  # where Twilio connects (0: no bridge behind the proxy)
    bridge_ports: tuple[int, ...] = ()  # the voice bridges
    front_end_headers: tuple[tuple[str, str], ...] = ()  # added to every answer of the front-end server
    page_policy: str = ""  # the Content-Security-Policy of its pages


def front_end_security(build_dir: Path) -> tuple[tuple[tuple[str, str], ...], str]:
    """The headers for the static front end built in `build_dir`, and its pages' policy: what the backend's
    middleware would send, with the inline-script hashes of every built page (all of them the app's own)."""
    hashes = {
        digest
        for page in sorted(build_dir.rglob("*.html"))
        for digest in headers.inline_script_hashes(page.read_bytes())
    }
    return headers.fixed_headers(get_settings().app_url), headers.page_policy(hashes)


def _header_block(fields: tuple[tuple[str, str], ...]) -> str:
    return "{\n" + "".join(f'\t\t\t{name} "{value}"\n' for name, value in fields) + "\t\t}"


def _pool(ports: tuple[int, ...], health_uri: str | None) -> str:
    """Round robin over `ports`; a request whose connection is refused is tried on another for up to
    `lb_try_duration` (long enough for a backend to be started again). With an active check on `health_uri`
    (the bridges: a draining bridge answers but must get no new call), an upstream is also taken out while its
    check fails or for `fail_duration` after a failed request. Without one (the web backends) no upstream is ever
    marked down: Caddy does not retry a POST once no upstream is "available" (it answered 503 at once to a lead
    submitted while the backend restarted last was still marked), and a refused connection costs little."""
    targets = " ".join(f"127.0.0.1:{port}" for port in ports)
    checks = f"\t\thealth_uri {health_uri}\n\t\thealth_interval 2s\n\t\tfail_duration 10s\n" if health_uri else ""
    # A POST refused by a stopped backend is sent again to another only if its body was kept (Caddy 2.6).
    buffer = "" if health_uri else "\t\tbuffer_requests\n"
    return f"{targets} {{\n\t\tlb_policy round_robin\n\t\tlb_try_duration 15s\n{buffer}{checks}\t}}"


def caddyfile(up: Upstreams) -> str:
    """The Caddy configuration for these upstreams (plain HTTP on loopback; TLS belongs to the edge)."""
    # Health-check failures while a backend starts are expected: only warnings and errors are logged.
    site = "{\n\tadmin off\n\tauto_https off\n\tlog {\n\t\tlevel WARN\n\t}\n}\n"
    if up.web_port:
        front = ""
        if up.front_end_headers:
            front += f"\t\theader {_header_block(up.front_end_headers)}\n"
        if up.page_policy:
            front += "\t\t@page header Accept *text/html*\n"
            front += f"\t\theader @page {_header_block((('Content-Security-Policy', up.page_policy),))}\n"
        site += (
            f"\nhttp://:{up.web_port} {{\n"
            f"\t@backend path {' '.join(BACKEND_PATHS)}\n"
            f"\thandle @backend {{\n\t\treverse_proxy {_pool(up.backend_ports, None)}\n\t}}\n"
            f"\thandle {{\n{front}\t\treverse_proxy 127.0.0.1:{up.frontend_port}\n\t}}\n"
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
