"""The loopback OpenAI Realtime (GA) peer: one local stand-in for the model, used by the simulated call
(`voice_bridge.simulated`), the bench (`bench.bridge`) and the tests' fake (`tests/fakes/openai_realtime.py`).

A websockets server on 127.0.0.1 at /v1/realtime that the real `openai` SDK dials. What each connection does
is `realtime_session.PeerSession`: session.created, then session.update → session.updated, a toy μ-law VAD
that turns the caller's audio into speech_started / speech_stopped / committed and a scripted transcription,
truncate with the real "already shorter than" error; its replies (`realtime_responses`) are streamed as audio
and transcript deltas on an absolute schedule (`stream_speed` times real time), function calls wait for their
output and a `response.create`, and a reply is cancelled on barge-in. Server events are built from the SDK's
own models (`realtime_connection`), so they are what the SDK would parse. What is said is a `script.Script`.

`api_key` set: the handshake must carry that Bearer key, a `model` query and no `OpenAI-Beta` header (else
401/400, listed in `problems`). `strict`: every client event is validated with
`TypeAdapter(openai.types.realtime.RealtimeClientEvent)`; an invalid one is answered with an `error` event
(the socket stays open, as the real server does) and listed in `invalid_events`.

A subclass sets `session_class` to a `PeerSession` subclass whose hooks it overrides (the bench uses them for
its timestamps): `on_caller_audio`, `speech_starting`, `truncated`, `audio_chunk` or `audio_payload`, `send_audio_delta`
and `send_text`; and `connection_class` to serve its sockets with a websockets connection subclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from openai.types.realtime import RealtimeClientEvent
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from voice_bridge.loopback.realtime_session import PeerSession
from voice_bridge.loopback.script import Script

REALTIME_PATH = "/v1/realtime"
CLOSE_TIMEOUT_S = 30.0
CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)


class RealtimePeer:
    """A websockets server on 127.0.0.1 (port 0 = any free port) speaking the Realtime GA protocol."""

    session_class: type[PeerSession] = PeerSession
    api_key: str | None = None
    """When set, the handshake must carry this Bearer key, a model and no OpenAI-Beta header."""
    strict = False
    """Validate every client event against the SDK's `RealtimeClientEvent`."""
    preroll_ms = 0
    connection_class: type[ServerConnection] = ServerConnection
    """The websockets connection class of each socket (a subclass may take messages as they are parsed)."""
    """How far ahead of real time a reply's audio is sent: its first `preroll_ms` go out at once."""

    def __init__(
        self,
        script: Script | Callable[[], Script],
        *,
        stream_speed: float = 4.0,
        chunk_ms: int = 100,
        first_chunk_after: float = 1.0,
    ) -> None:
        self._script = script
        self.stream_speed = stream_speed
        self.chunk_ms = chunk_ms
        self.first_chunk_after = first_chunk_after
        """When a reply's first chunk goes out, in chunk intervals after `response.created`."""
        self.sessions: list[PeerSession] = []
        self.handshakes: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.invalid_events: list[tuple[dict[str, Any], str]] = []
        self._server: Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return next(iter(self._server.sockets)).getsockname()[1]

    @property
    def base_url(self) -> str:
        """What the SDK takes as `base_url` (it dials `ws://…/v1/realtime?model=…`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> RealtimePeer:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            max_size=None,
            compression=None,
            create_connection=self.connection_class,
        )
        return self

    def ws_url(self, model: str = "gpt-realtime") -> str:
        return f"ws://127.0.0.1:{self.port}{REALTIME_PATH}?model={model}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_S)
            self._server = None

    async def __aenter__(self) -> RealtimePeer:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def _process_request(self, _connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        self.handshakes.append({"path": url.path, "query": url.query, "headers": request.headers})
        if url.path != REALTIME_PATH:
            return http_error(HTTPStatus.NOT_FOUND, "not found")
        return self.check_handshake(url.query, request.headers)

    def check_handshake(self, query: str, headers: Headers) -> Response | None:
        """Without `api_key` every handshake is accepted; with it, as the real server checks it."""
        if self.api_key is None:
            return None
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            self.problems.append(f"bad Authorization header: {headers.get('Authorization')!r}")
            return http_error(HTTPStatus.UNAUTHORIZED, "Incorrect API key provided.")
        if "model=" not in query:
            self.problems.append(f"no model in the query: {query!r}")
            return http_error(HTTPStatus.BAD_REQUEST, "Missing required parameter: 'model'.")
        if "OpenAI-Beta" in headers:
            self.problems.append(f"OpenAI-Beta header sent: {headers.get('OpenAI-Beta')!r}")
            return http_error(HTTPStatus.BAD_REQUEST, "The beta Realtime API is not served here.")
        return None

    def check_client_event(self, session: PeerSession, raw: str | bytes, event: dict[str, Any]) -> str | None:
        """A reason to refuse a client event with an `error` event: with `strict`, what the SDK's model rejects."""
        if not self.strict:
            return None
        try:
            CLIENT_EVENT.validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"Invalid client event: {where}: {first['msg']}"
            self.invalid_events.append((event, message))
            return message
        return None

    def script(self) -> Script:
        return self._script() if callable(self._script) else self._script

    async def _handle(self, connection: ServerConnection) -> None:
        session = self.session_class(self, connection, self.script())
        query = urlsplit(connection.request.path).query if connection.request else ""
        session.model = dict(part.partition("=")[::2] for part in query.split("&") if part).get("model", "")
        self.sessions.append(session)
        await session.serve()


def http_error(status: HTTPStatus, text: str) -> Response:
    body = json.dumps({"error": {"message": text}}).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status.value, status.phrase, headers, body)
