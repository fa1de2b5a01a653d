"""`voice_bridge.frames`: the bridge's own text frames are what websockets reads back, masked with fresh keys."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from voice_bridge import frames

SIZES = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]


def parsed(data: bytes, mask: bool) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    parser = Frame.parse(reader.read_exact, mask=mask, max_size=None, extensions=[])
    try:
        next(parser)
    except StopIteration as done:
        assert not reader.buffer, "bytes left after the frame"
        return done.value
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", SIZES)
def test_a_server_frame_is_one_whole_unmasked_text_message(size: int) -> None:
    payload = ("é" * size).encode()[:size]
    frame = parsed(frames.server_text(payload), mask=False)
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


@pytest.mark.parametrize("size", SIZES)
def test_a_client_frame_is_one_whole_masked_text_message(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    data = frames.client_text(payload)
    assert data[1] & frames.MASKED
    frame = parsed(data, mask=True)
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


def test_every_client_frame_has_its_own_key_across_refills() -> None:
    keys = [frames.client_text(b"x")[2:6] for _ in range(3 * frames.KEYS_PER_READ)]
    assert len(set(keys)) > len(keys) - 3  # 4 random bytes: a repeat among 3,072 keys is ~0.1 % likely
