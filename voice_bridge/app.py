"""The voice bridge's HTTP application (routes stay thin: parse, call one service, answer)."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from leadapp.core import client_ip, rls
from leadapp.core.observability import configure, get_logger
from leadapp.core.services.health import check_database
from leadapp.core.settings import get_settings, production_refusal
from voice_bridge import __version__, drain, loop_stats
from voice_bridge.calls_webhooks import router as calls_router
from voice_bridge.links import realtime_client
from voice_bridge.media import router as media_router
from voice_bridge.sms import router as sms_router
from voice_bridge.transcripts import drain_lines

SERVICE = "voice_bridge"
GC_THRESHOLDS = (2_000, 10, 100)  # Python's default: (700, 10, 10)
SWITCH_INTERVAL_S = 0.001


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Configure logging and error reporting, and build the realtime client, before the first request is served.

    At the end, write the transcript lines still pending.
    """
    refusal = production_refusal("voice bridge")  # also when served by `uvicorn voice_bridge.app:app` directly
    if refusal:
        raise RuntimeError(refusal)
    configure(SERVICE)
    await run_in_threadpool(realtime_client)
    log = get_logger(SERVICE)
    log.info("voice_bridge_started", version=__version__)
    # Everything loaded so far (the SDKs, their types, the ORM) lives as long as the process: keep it out of the
    # collector's sweeps, which otherwise walk it again and again while calls allocate their small objects.
    gc.collect()
    gc.freeze()
    # What calls allocate is mostly short-lived (a parsed event, a frame): young collections less often (each
    # still small), and the full ones (every object the calls hold, all calls stalled meanwhile) far apart.
    gc.set_threshold(*GC_THRESHOLDS)
    # The database writes, Redis round trips and REST calls run in worker threads; when one holds the interpreter,
    # the event loop carrying every call's audio gets it back after this long at most (Python's default: 5 ms).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    if get_settings().voice_bridge_loop_stats:
        loop_stats.start()
    yield
    await drain_lines()
    figures = await loop_stats.stop()
    if figures is not None:
        log.info("loop_stats", **figures)
    log.info("voice_bridge_stopped")


class SystemContext:
    """Every request and media stream the bridge serves acts on the database as the system, logged with its
    route (Twilio's webhooks are signature-checked, and a recording link enters its viewer's own context)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # The first path segment only: a recording link's token must not reach the logs.
        route = "/" + str(scope.get("path", "")).strip("/").split("/", 1)[0]
        # Who called, by the same rule as the web app (TRUSTED_PROXIES): every log line of the request names it,
        # so a refused signature or media stream can be traced to its sender.
        with (
            rls.system_context(f"voice bridge {scope['type']} {route}"),
            structlog.contextvars.bound_contextvars(client_ip=client_ip.from_scope(scope)),
        ):
            await self.app(scope, receive, send)


# No /docs, /redoc or /openapi.json: the bridge faces the internet for Twilio, and a map of its routes helps
# nobody else.
app = FastAPI(
    title="LeadApp voice bridge",
    version=__version__,
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)
app.add_middleware(SystemContext)
app.include_router(sms_router)
app.include_router(calls_router)
app.include_router(media_router)


@app.get("/debug/loop")
async def debug_loop(reset: bool = False) -> JSONResponse:
    """The event loop's figures (`voice_bridge.loop_stats`) when VOICE_BRIDGE_LOOP_STATS is on, else 404.

    `?reset=1` answers the figures so far and starts counting anew.
    """
    stats = loop_stats.stats
    if stats is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    figures = stats.figures()
    if reset:
        stats.reset()
    return JSONResponse(figures)


@app.get("/health")
async def health() -> JSONResponse:
    """Whether this bridge can do its job: 200 with status "ok" when its database is usable.

    A bridge that cannot reach a migrated database cannot save transcripts or outcomes, so it answers
    503 with status "degraded" and `database: false`, letting a load balancer route calls elsewhere.
    The reason goes to the log and the admin health page, never into this public answer (an error text
    names hosts, drivers and revisions). A bridge stopping (SIGTERM, `voice_bridge.drain`) answers 503
    "draining" while its calls in progress (`calls`) finish.
    """
    database = await run_in_threadpool(check_database)
    status = "draining" if drain.is_draining() else "ok" if database.ok else "degraded"
    body: dict[str, object] = {
        "status": status,
        "service": SERVICE,
        "version": __version__,
        "database": database.ok,
        "calls": drain.streams(),
    }
    if not database.ok:
        get_logger(SERVICE).warning("health_degraded", database_detail=database.detail)
    return JSONResponse(body, status_code=200 if status == "ok" else 503)
