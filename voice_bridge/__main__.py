"""`python -m voice_bridge [--host H] [--port P]`: serve the bridge with uvicorn, stopping gracefully on SIGTERM.

SIGTERM (what a supervisor, systemd or Kubernetes sends) drains first: the bridge takes no new media stream and
`/health` says "draining" (503), the calls in progress go on for up to BRIDGE_DRAIN_SECONDS, then uvicorn stops
as usual (uvicorn alone would close every call's socket at once). SIGINT (Ctrl-C), or a second SIGTERM, stops at
once.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
from types import FrameType

import uvicorn

from leadapp.core.observability import get_logger
from leadapp.core.settings import get_settings, refuse_insecure_production
from voice_bridge import WS_PROTOCOL, drain

log = get_logger("voice_bridge")


class DrainingServer(uvicorn.Server):
    """uvicorn's server, except that the first SIGTERM drains the calls in progress before stopping."""

    _loop: asyncio.AbstractEventLoop | None = None
    _drain_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or drain.is_draining() or self._loop is None:
            super().handle_exit(sig, frame)
            return
        drain.begin()
        self._loop.call_soon_threadsafe(self._start_draining, sig, frame)

    def _start_draining(self, sig: int, frame: FrameType | None) -> None:
        self._drain_task = asyncio.ensure_future(self._drain_then_stop(sig, frame))

    async def _drain_then_stop(self, sig: int, frame: FrameType | None) -> None:
        seconds = get_settings().bridge_drain_seconds
        log.info("voice_bridge_draining", calls=drain.streams(), drain_seconds=seconds)
        left = await drain.wait_for_calls(seconds)
        log.info("voice_bridge_drained", calls_cut=left)
        super().handle_exit(sig, frame)


def main(argv: list[str] | None = None) -> None:
    """Serve `voice_bridge.app:app` on --host (default 127.0.0.1) and --port (default VOICE_BRIDGE_PORT)."""
    parser = argparse.ArgumentParser(prog="python -m voice_bridge", description="Run the LeadApp voice bridge.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=get_settings().voice_bridge_port, help="default: VOICE_BRIDGE_PORT")
    args = parser.parse_args(argv)
    refuse_insecure_production("voice bridge")
    # The client is who `core.client_ip` says (TRUSTED_PROXIES), not what uvicorn's proxy-header handling (on by
    # default, trusting 127.0.0.1) would first write into the scope from a header any local sender can forge.
    config = uvicorn.Config("voice_bridge.app:app", host=args.host, port=args.port, ws=WS_PROTOCOL, proxy_headers=False)
    DrainingServer(config).run()


if __name__ == "__main__":
    main()
