"""The public JSON API, mounted into the Reflex backend through `api_transformer`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def api_health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "web"})


api = Starlette(routes=[Route("/api/v1/health", api_health, methods=["GET"])])
