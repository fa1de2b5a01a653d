"""The voice bridge: a FastAPI service for TwiML, Twilio webhooks and the Media Streams websocket.

Run it with `python -m voice_bridge` or `uvicorn voice_bridge.app:app`.
"""

__version__ = "0.1.0"

WS_PROTOCOL = "voice_bridge.ws_protocol:MediaStreamProtocol"
"""uvicorn's websocket implementation every launcher of the bridge uses (`python -m voice_bridge`, `bench.bridge`).

uvicorn's `websockets-sansio` with reading paused on a backlog rather than after every message (see
`voice_bridge.ws_protocol`). Measured under the media-stream load of `bench.bridge` (a message every 20 ms per
call), plain `websockets-sansio` took ~77 µs of bridge CPU per caller frame, against ~94 for the default
(legacy `websockets`) and ~98 for `wsproto`.
"""
