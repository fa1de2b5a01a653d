"""Twilio's side of a Media Stream, on loopback: a caller that dials the bridge's websocket like Twilio does.

It is the loopback caller (`voice_bridge.loopback.twilio_caller.MediaStreamCaller`, also the simulated call's
and the bench's) with a signed upgrade:

- the upgrade carries `X-Twilio-Signature`: Twilio's signature of the PUBLIC wss url with no parameters
  (`RequestValidator(token).compute_signature(url, {})`), or whatever signature a test passes;
- `connected`, then `start` with `customParameters` (call_id), then a 20 ms μ-law frame every 20 ms in
  real time (silence, or speech-like bytes during `say(ms)`), `dtmf` on `press`, `stop` on `hang_up`;
- a playout simulator: our audio drains at 8 bytes/ms from when it arrives, each mark is echoed once the
  audio ahead of it has played, `clear` drops what is unplayed and echoes the pending marks;
- `heard` records every byte played, so a test can compare what the caller heard with what the bridge
  told OpenAI (`heard_ms(tag)` for one assistant item: the fake OpenAI gives each item its own byte).
"""

from __future__ import annotations

import time
from typing import Any

from twilio.request_validator import RequestValidator

from voice_bridge.loopback.twilio_caller import MediaStreamCaller

SIGNATURE_HEADER = "X-Twilio-Signature"


def media_signature(auth_token: str, public_wss_url: str) -> str:
    """What Twilio puts in X-Twilio-Signature when it opens the media stream at `public_wss_url`."""
    return RequestValidator(auth_token).compute_signature(public_wss_url, {})


class FakeTwilioMedia(MediaStreamCaller):
    """A Media Streams connection to the bridge, as Twilio opens it for one call."""

    def __init__(
        self, url: str, *, call_id: int | None, signature: str | None, call_sid: str | None = None, **kwargs: Any
    ) -> None:
        headers = {SIGNATURE_HEADER: signature} if signature is not None else {}
        super().__init__(url, call_id=call_id, call_sid=call_sid, headers=headers, **kwargs)
        self.start_sent_ns: int | None = None
        self.parameters: dict[str, str] = {}
        """The `<Parameter>`s of the call's TwiML, for `start` (set by whoever dials)."""

    @classmethod
    def signed(
        cls, url: str, *, public_wss_url: str, auth_token: str, call_id: int | None, call_sid: str | None = None
    ) -> FakeTwilioMedia:
        return cls(url, call_id=call_id, call_sid=call_sid, signature=media_signature(auth_token, public_wss_url))

    async def start(self, custom_parameters: dict[str, str] | None = None) -> None:
        self.start_sent_ns = time.monotonic_ns()
        await super().start(custom_parameters)

    def messages(self, event: str) -> list[tuple[int, dict[str, Any]]]:
        """Messages of one kind received from the bridge, with their arrival time (monotonic_ns)."""
        return [(at, message) for at, message in self.received if message.get("event") == event]
