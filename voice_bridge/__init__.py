"""The voice bridge: a FastAPI service for TwiML, Twilio webhooks and the Media Streams websocket.

Run it with `python -m voice_bridge` or `uvicorn voice_bridge.app:app`.
"""

__version__ = "0.1.0"
