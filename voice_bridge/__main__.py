"""`python -m voice_bridge [--host H] [--port P]`: serve the bridge with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from leadapp.core.settings import get_settings, refuse_insecure_production
from voice_bridge import WS_PROTOCOL


def main(argv: list[str] | None = None) -> None:
    """Serve `voice_bridge.app:app` on --host (default 127.0.0.1) and --port (default VOICE_BRIDGE_PORT)."""
    parser = argparse.ArgumentParser(prog="python -m voice_bridge", description="Run the LeadApp voice bridge.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=get_settings().voice_bridge_port, help="default: VOICE_BRIDGE_PORT")
    args = parser.parse_args(argv)
    refuse_insecure_production("voice bridge")
    uvicorn.run("voice_bridge.app:app", host=args.host, port=args.port, ws=WS_PROTOCOL)


if __name__ == "__main__":
    main()
