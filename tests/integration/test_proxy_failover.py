"""Scaled out, a web backend that is down (stopped, or being started again) costs a request nothing: a real
Caddy, configured as the launcher configures it, in front of one backend that refuses connections and one that
works but is slow to answer anything but its real work (a small machine busy starting the other backend).
Every request through the proxy is answered by the working backend; none gets the proxy's own 503 "no upstream
available" (what CI saw when a health probe queued behind busy work took the only live backend out)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from leadapp import proxy
from tests.integration.programs import unused_port

SLOW_SECONDS = 7.0  # longer than Caddy's default health-probe timeout (5 s)
WATCH_SECONDS = 16.0  # a few probe rounds and more than a request's whole retry window


class _Backend(BaseHTTPRequestHandler):
    served: list[str] = []

    def do_GET(self) -> None:
        if self.path == "/ping":
            time.sleep(SLOW_SECONDS)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.served.append(self.path)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    server.daemon_threads = True
    _Backend.served = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_go_to_the_live_backend_while_the_other_is_down(backend: ThreadingHTTPServer, tmp_path) -> None:
    if shutil.which("caddy") is None:
        pytest.fail("caddy is not installed (`make test` installs it from Debian)")
    web_port, dead_port = unused_port(), unused_port()
    up = proxy.Upstreams(web_port, unused_port(), (dead_port, backend.server_address[1]))
    process = proxy.start(up, tmp_path / "proxy", {"PATH": "/usr/bin:/bin"})
    assert process is not None
    url = f"http://127.0.0.1:{web_port}/api/v1/health"
    answers: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # Caddy listening
            try:
                httpx.get(url, timeout=20)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        end = time.monotonic() + WATCH_SECONDS
        while time.monotonic() < end:
            answers.append(httpx.get(url, timeout=30).status_code)
            # A POST too (Caddy retries one only when the connection was refused, never once it marked every
            # upstream unavailable): a lead submitted then must reach the live backend.
            answers.append(httpx.post(url, json={"text": "a lead"}, timeout=30).status_code)
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert len(answers) >= 10
    assert set(answers) == {200}, answers
    assert _Backend.served.count("/api/v1/health") >= len(answers)  # each answered by the live backend
