"""Websocket text frames as the bridge writes them on its two audio sockets (RFC 6455 §5.2), without extensions.

websockets builds a `Frame` object per message and serializes it through its checks, and as a client draws
each masking key with a system call (`secrets.token_bytes`): at 150 calls, four messages a delta, a visible
share of the bridge's one core in py-spy. Here a whole, unfragmented text message is framed in a few
operations: unmasked from the server side (Twilio's socket), masked from the client side (OpenAI's) with keys
taken four bytes at a time from one `os.urandom` read of many (as unpredictable as one read per key; RFC 6455
§5.3 asks only that). Used only where no extension was negotiated; websockets frames everything else.
"""

from __future__ import annotations

import os
import threading

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

WHOLE_TEXT = 0x81
"""The first byte of a whole text message: FIN, no extension bits, opcode 1."""
MASKED = 0x80
KEYS_PER_READ = 1024


def _length(first: int, size: int) -> bytes:
    if size < 126:
        return bytes((WHOLE_TEXT, first | size))
    if size < 1 << 16:
        return bytes((WHOLE_TEXT, first | 126)) + size.to_bytes(2, "big")
    return bytes((WHOLE_TEXT, first | 127)) + size.to_bytes(8, "big")


def server_text(payload: bytes) -> bytes:
    """The frame of one text message sent by a server (never masked)."""
    return _length(0, len(payload)) + payload


class MaskingKeys(threading.local):
    """Masking keys for client frames: `os.urandom` read in batches, each key used once (per thread: an event
    loop in another thread draws from its own batch)."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def next(self) -> bytes:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(4 * KEYS_PER_READ), 0
        self._at = at + 4
        return self._pool[at : at + 4]


_keys = MaskingKeys()


def client_text(payload: bytes) -> bytes:
    """The frame of one text message sent by a client (masked with a fresh key)."""
    key = _keys.next()
    return _length(MASKED, len(payload)) + key + apply_mask(payload, key)
