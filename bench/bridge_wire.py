"""How `bench.bridge`'s load generator writes a websocket message: the frame built here and handed to the socket
at once, without websockets' per-send machinery (its send context, flow-control wait and a getrandom() call for
every client frame's mask), which at 150 calls cost the load generator more CPU than the program it measured.

The bytes on the wire are the ones websockets writes for an unfragmented text message (RFC 6455: FIN + text
opcode, the length, and from a client a random 4-byte mask over the payload); the masks come from one
`os.urandom` draw per 1024 frames instead of one per frame. A message goes out only while the connection is open
(a closed one answers False, as the callers' `send_text` does). There is no flow control: the load is sent as
it is due, like Twilio's and OpenAI's servers do, and a program too slow to read lets the kernel buffer it.
"""

from __future__ import annotations

import os
import struct

from websockets.asyncio.connection import Connection
from websockets.protocol import Side, State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C speedups
    from websockets.utils import apply_mask

TEXT_FIN = 0x81
MASKED = 0x80
MASK_POOL_BYTES = 4096


class _Masks:
    """Random 4-byte masks, drawn from the OS a pool at a time."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self) -> bytes:
        if self._at + 4 > len(self._pool):
            self._pool, self._at = os.urandom(MASK_POOL_BYTES), 0
        mask = self._pool[self._at : self._at + 4]
        self._at += 4
        return mask


_MASKS = _Masks()


def frame_header(length: int, masked: bool) -> bytes:
    """The header of an unfragmented text frame carrying `length` bytes."""
    mask_bit = MASKED if masked else 0
    if length < 126:
        return bytes((TEXT_FIN, mask_bit | length))
    if length < 65536:
        return struct.pack("!BBH", TEXT_FIN, mask_bit | 126, length)
    return struct.pack("!BBQ", TEXT_FIN, mask_bit | 127, length)


def write_text(ws: Connection, text: str) -> bool:
    """Write `text` as one text message on `ws` now (masked from a client); False when it is not open."""
    if ws.protocol.state is not State.OPEN:
        return False
    data = text.encode()
    if ws.protocol.side is Side.CLIENT:
        mask = _MASKS.take()
        ws.transport.write(frame_header(len(data), True) + mask + apply_mask(data, mask))
    else:
        ws.transport.write(frame_header(len(data), False) + data)
    return True
