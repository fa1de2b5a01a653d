"""The scaled-out run's reverse proxy configuration, read back by Caddy itself (`caddy adapt`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from leadapp import proxy

UP = proxy.Upstreams(
    web_port=3000, frontend_port=3100, backend_ports=(8001, 8002), bridge_port=8765, bridge_ports=(8766, 8767)
)


def _adapt(text: str, tmp_path: Path) -> dict:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("caddy is not installed (`make test` installs it from Debian)")
    config = tmp_path / "Caddyfile"
    config.write_text(text)
    out = subprocess.run(
        [caddy, "adapt", "--config", str(config), "--adapter", "caddyfile"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _routes_by_port(adapted: dict) -> dict[int, list[dict]]:
    servers = adapted["apps"]["http"]["servers"].values()
    return {int(s["listen"][0].rsplit(":", 1)[1]): s["routes"] for s in servers}


def _upstreams(route: dict) -> set[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("handler") == "reverse_proxy":
                found.update(u["dial"] for u in node["upstreams"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(route)
    return found


def test_the_event_socket_and_api_go_to_the_backends_and_pages_to_the_front_end(tmp_path: Path) -> None:
    routes = _routes_by_port(_adapt(proxy.caddyfile(UP), tmp_path))
    web = routes[3000]
    backend = next(r for r in web if "match" in json.dumps(r))
    paths = backend["match"][0]["path"]
    for path in ("/_event*", "/ping", "/api/*", "/_upload*"):
        assert path in paths
    assert _upstreams(backend) == {"127.0.0.1:8001", "127.0.0.1:8002"}
    rest = [r for r in web if r is not backend]
    assert set().union(*(_upstreams(r) for r in rest)) == {"127.0.0.1:3100"}


def test_twilio_reaches_every_bridge_through_one_address(tmp_path: Path) -> None:
    routes = _routes_by_port(_adapt(proxy.caddyfile(UP), tmp_path))
    assert set().union(*(_upstreams(r) for r in routes[8765])) == {"127.0.0.1:8766", "127.0.0.1:8767"}


def test_a_machine_without_web_proxies_only_its_bridges(tmp_path: Path) -> None:
    up = proxy.Upstreams(0, 0, (), bridge_port=8765, bridge_ports=(8766, 8767))
    assert set(_routes_by_port(_adapt(proxy.caddyfile(up), tmp_path))) == {8765}
