"""`python -m bench.relay --port P --upstream ws://127.0.0.1:F/v1/realtime?model=M --api-key K`: the floor.

The cheapest thing that can carry a call between Twilio Media Streams and OpenAI Realtime: a raw
`websockets` relay with no SDK, no session, no database and no playout tracking. Per Twilio socket it
dials the upstream once, and then

- Twilio `start` → the stream id is kept; a fixed `session.update` (μ-law both ways, server VAD) and a
  `response.create` go up, so the peer starts talking as it would for the bridge;
- Twilio `media` → `input_audio_buffer.append` with the payload string as is (one `json.loads`, one concat);
- upstream `response.output_audio.delta` → Twilio `media` with the delta as is (no marks);
- upstream `input_audio_buffer.speech_started` → Twilio `clear` (no truncate);
- Twilio `stop` or either side closing → both sockets closed.

`bench.bridge` runs it pinned to one core under the same load as the real bridge; its CPU per uplink
frame is the floor the bridge is compared with. Listens on 127.0.0.1 only; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bench import event_loop

APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"'
SESSION_UPDATE = json.dumps(
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                },
                "output": {"format": {"type": "audio/pcmu"}},
            },
        },
    },
    separators=(",", ":"),
)
RESPONSE_CREATE = '{"type":"response.create"}'


async def _downlink(upstream: ClientConnection, twilio: ServerConnection, sid: list[str]) -> None:
    try:
        async for raw in upstream:
            event = json.loads(raw)
            kind = event.get("type")
            if kind == "response.output_audio.delta":
                await twilio.send(
                    '{"event":"media","streamSid":"' + sid[0] + '","media":{"payload":"' + event["delta"] + '"}}'
                )
            elif kind == "input_audio_buffer.speech_started":
                await twilio.send('{"event":"clear","streamSid":"' + sid[0] + '"}')
    except ConnectionClosed:
        pass
    finally:
        await twilio.close()


async def _relay(twilio: ServerConnection, upstream_url: str, api_key: str) -> None:
    upstream = await connect(
        upstream_url, additional_headers={"Authorization": f"Bearer {api_key}"}, max_size=None, compression=None
    )
    sid = [""]
    down = asyncio.create_task(_downlink(upstream, twilio, sid))
    try:
        async for raw in twilio:
            message = json.loads(raw)
            kind = message.get("event")
            if kind == "media":
                await upstream.send(APPEND_HEAD + message["media"]["payload"] + '"}')
            elif kind == "start":
                sid[0] = str(message.get("streamSid") or message["start"]["streamSid"])
                await upstream.send(SESSION_UPDATE)
                await upstream.send(RESPONSE_CREATE)
            elif kind == "stop":
                break
    except ConnectionClosed:
        pass
    finally:
        down.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await down
        await upstream.close()
        await twilio.close()


async def serve_relay(port: int, upstream_url: str, api_key: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def handler(twilio: ServerConnection) -> None:
        await _relay(twilio, upstream_url, api_key)

    async with serve(handler, "127.0.0.1", port, max_size=None, compression=None):
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 for the Twilio side")
    parser.add_argument("--upstream", required=True, help="ws:// URL of the realtime peer")
    parser.add_argument("--api-key", default="", help="sent as the Bearer token upstream")
    args = parser.parse_args(argv)
    event_loop.run(serve_relay(args.port, args.upstream, args.api_key))  # the bridge's kind of loop (uvicorn's)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
