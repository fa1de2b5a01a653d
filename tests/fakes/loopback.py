"""What the fakes share to stand on 127.0.0.1 (an ephemeral port) and be reached by the app.

- `ServedApp`: one Starlette handler for every path, served by uvicorn in a daemon thread (the Anthropic and
  Places fakes, which are async); `ServedFake`: the base of those fakes (their record, start and stop).
- `http_server`: a pytest-httpserver server for the werkzeug fakes (SendGrid, Twilio), cleared and stopped after.
- `ProviderFake`: the base of those fakes: the server's URL and the failures a test injects (the next N requests,
  every request, a slow answer, a share of outages).
- `settings_pointing_at`: the app's settings read with some environment set (the fake's key and URL).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import pytest
import uvicorn
from pytest_httpserver import HTTPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadapp.core.settings import get_settings
from tests.fakes.faults import Flakiness

START_TIMEOUT_SECONDS = 10.0


class ServedApp:
    """`handler` answering every method and path on 127.0.0.1, in a thread, from `start()` to `stop()`."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]], name: str) -> None:
        self.name = name
        self._app = Starlette(routes=[Route("/{path:path}", handler, methods=["GET", "POST", "PUT", "DELETE"])])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Serve; returns the base URL once the server answers (RuntimeError if it does not start in time)."""
        self._server = uvicorn.Server(uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name.replace(" ", "-"), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the {self.name} did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_SECONDS)


Recorded = TypeVar("Recorded")


class ServedFake(Generic[Recorded]):
    """The base of the fakes served by `ServedApp`: the requests they recorded (kept under their lock), their base
    URL once started, `start()` and `stop()`. A subclass answers every request in `_handle`."""

    served_name = "fake API"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._served: ServedApp | None = None
        self.url = ""

    @property
    def requests(self) -> list[Recorded]:
        """Every request received so far (a copy), accepted or rejected."""
        with self._lock:
            return list(self._requests)

    def start(self) -> None:
        self._served = ServedApp(self._handle, self.served_name)
        self.url = self._served.start()

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()

    def settings(self) -> dict[str, str]:
        """The app's settings (its key and base URL) that point at this fake once it is started."""
        raise NotImplementedError

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Started, with the app's settings pointing at it until the exit, where it stops."""
        self.start()
        try:
            with settings_pointing_at(self.settings()):
                yield
        finally:
            self.stop()

    async def _handle(self, request: Request) -> Response:
        raise NotImplementedError


@contextmanager
def http_server() -> Iterator[HTTPServer]:
    """A started pytest-httpserver server on 127.0.0.1, cleared and stopped on the way out."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


class ProviderFake:
    """A werkzeug fake's server and the failures a test injects into it.

    A handler calls `_outage()` first (a slow answer, then perhaps a 5xx or a request held past the client's
    timeout) and, holding `_lock`, `_fails_now()` once the request is authenticated.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.always_fail = False
        self.delay_seconds = 0.0
        """Wait this long before answering (a slow provider)."""
        self.fail_status = 500
        self._fail_next = 0
        self._lock = threading.Lock()
        self.flakiness = Flakiness()
        """A share of requests answered 5xx or held past the client's timeout (`bench.faults`)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with `status` (then accept again)."""
        with self._lock:
            self._fail_next, self.fail_status = count, status

    def _outage(self) -> bool:
        """Wait `delay_seconds`; True when this request is one of the injected outages (answer 503)."""
        time.sleep(self.delay_seconds)
        return self.flakiness.draw() != "ok"

    def _fails_now(self) -> bool:
        """True when this request is to fail with `fail_status` (uses up one of `fail_next`). Hold `_lock`."""
        if self.always_fail or self._fail_next > 0:
            self._fail_next = max(self._fail_next - 1, 0)
            return True
        return False


@contextmanager
def settings_pointing_at(env: dict[str, str]) -> Iterator[None]:
    """The app's settings read afresh with `env` set, and afresh again (without it) on the way out."""
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            get_settings.cache_clear()
            yield
    finally:
        get_settings.cache_clear()
