"""How `bench.bridge`'s load generator writes and reads a websocket message: the frame built here and handed to the
socket at once, without websockets' per-send machinery (its send context, flow-control wait and a getrandom() call
for every client frame's mask), which at 150 calls cost the load generator more CPU than the program it measured;
and the frames of what arrives split here (`frame_at`), so that an ordinary text message is read without
websockets' frame parser (a generator and a stream reader stepped in Python for every frame).

The bytes on the wire are the ones websockets writes for an unfragmented text message (RFC 6455: FIN + text
opcode, the length, and from a client a random 4-byte mask over the payload); the masks come from one
`os.urandom` draw per 1024 frames instead of one per frame. A message goes out only while the connection is open
(a closed one answers False, as the callers' `send_text` does). There is no flow control: the load is sent as
it is due, like Twilio's and OpenAI's servers do, and a program too slow to read lets the kernel buffer it.

`frame_at` finds where each frame of the received bytes ends (RFC 6455's header: the 7-, 16- or 64-bit length and
the mask) and unmasks a plain text frame's payload; the reader (`bench.bridge_load.ParsedAtOnce`) hands every
other frame, whole, to websockets, which checks and handles it as it always does.
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
LENGTH_BITS = 0x7F
MASK_POOL_BYTES = 4096
_LENGTH16 = struct.Struct("!H")
_LENGTH64 = struct.Struct("!Q")


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


_HEADERS: dict[tuple[int, bool], bytes] = {}


def frame_header(length: int, masked: bool) -> bytes:
    """The header of an unfragmented text frame carrying `length` bytes."""
    header = _HEADERS.get((length, masked))
    if header is None:
        mask_bit = MASKED if masked else 0
        if length < 126:
            header = bytes((TEXT_FIN, mask_bit | length))
        elif length < 65536:
            header = struct.pack("!BBH", TEXT_FIN, mask_bit | 126, length)
        else:
            header = struct.pack("!BBQ", TEXT_FIN, mask_bit | 127, length)
        if length < 65536:  # the messages of a call come in a few hundred lengths: each header built once
            _HEADERS[(length, masked)] = header
    return header


def write_text(ws: Connection, text: str) -> bool:
    """Write `text` as one text message on `ws` now (masked from a client); False when it is not open."""
    protocol = ws.protocol
    if protocol.state is not State.OPEN:
        return False
    data = text.encode()
    if protocol.side is Side.CLIENT:
        mask = _MASKS.take()
        ws.transport.write(frame_header(len(data), True) + mask + apply_mask(data, mask))
    else:
        ws.transport.write(frame_header(len(data), False) + data)
    return True


def frame_at(data: bytes, at: int, masked: bool) -> tuple[int, bytes | None]:
    """The frame of `data` that starts at `at`: (where it ends, or -1 when it has not all arrived yet; its payload,
    unmasked, when it is a whole text message masked as `masked` says, else None: websockets is to read it)."""
    size = len(data)
    if size - at < 2:
        return -1, None
    first, second = data[at], data[at + 1]
    length = second & LENGTH_BITS
    start = at + 2
    if length == 126:
        if size < start + 2:
            return -1, None
        length = _LENGTH16.unpack_from(data, start)[0]
        start += 2
    elif length == 127:
        if size < start + 8:
            return -1, None
        length = _LENGTH64.unpack_from(data, start)[0]
        start += 8
    has_mask = bool(second & MASKED)
    if has_mask:
        start += 4
    end = start + length
    if end > size:
        return -1, None
    if first != TEXT_FIN or has_mask is not masked:
        return end, None
    if masked:
        return end, apply_mask(data[start:end], data[start - 4 : start])
    return end, data[start:end]
