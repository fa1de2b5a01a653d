"""The cheap load generator of `bench.bridge` stays protocol-faithful: its hand-framed writes are websocket messages
the other side's websockets reads as sent (masked from a client, unmasked from a server), messages taken as they
are parsed keep their order when one has to wait, its append shortcut accepts only what the SDK's model accepts,
and the loopback peer's synchronous append path takes only frames its VAD has nothing to answer about."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from openai.types.realtime import InputAudioBufferAppendEvent
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from bench.bridge_load import ParsedAtOnceClient, ParsedAtOnceServer, plain_append
from bench.bridge_wire import apply_mask, frame_at, frame_header, write_text
from voice_bridge import realtime_wire as rt
from voice_bridge.loopback.realtime_session import PeerSession
from voice_bridge.loopback.script import SILENCE, SPEECH_PATTERN, Script

TIMEOUT_S = 5.0


async def test_hand_framed_messages_are_read_as_sent_both_ways() -> None:
    received: list[str] = []
    long_text = "x" * 70_000  # the 8-byte length form

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(str(message))
            assert write_text(ws, f"echo {len(received)}")  # from the server: unmasked, or the client would fail

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as client:
            for text in ('{"a":"é"}', "y" * 200, long_text):  # from the client: masked, or the server would close
                assert write_text(client, text)
            echoes = [await asyncio.wait_for(client.recv(), TIMEOUT_S) for _ in range(3)]
        assert not write_text(client, "after the close")
    assert received == ['{"a":"é"}', "y" * 200, long_text]
    assert echoes == ["echo 1", "echo 2", "echo 3"]


async def test_a_declined_message_keeps_the_ones_after_it_in_order() -> None:
    taken: list[str] = []
    read: list[str] = []

    def on_text(text: str, _at_ns: int) -> bool:
        if text == "wait":
            return False
        taken.append(text)
        return True

    async def handler(ws: ServerConnection) -> None:
        assert isinstance(ws, ParsedAtOnceServer)
        ws.on_text = on_text
        await ws.send("ready")
        async for message in ws:
            ws.took()
            read.append(str(message))
            if message == "last":
                break

    async with serve(handler, "127.0.0.1", 0, create_connection=ParsedAtOnceServer) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=ParsedAtOnceClient) as client:
            assert await asyncio.wait_for(client.recv(), TIMEOUT_S) == "ready"
            for text in ("one", "wait", "two", "last"):
                await client.send(text)
            await asyncio.wait_for(client.wait_closed(), TIMEOUT_S)
    assert taken == ["one"]
    assert read == ["wait", "two", "last"]


async def test_frames_split_by_the_reader_arrive_whole_and_the_rest_goes_to_websockets() -> None:
    taken: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the client's callback is in place
        await ws.send("x" * 70_000)  # the 8-byte length, over several reads
        await ws.ping()  # a control frame in between: websockets answers it
        await ws.send("é small")
        await ws.send(["frag", "mented"])  # a fragmented message: websockets reads it (and all after it)
        await ws.send("after")
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", create_connection=ParsedAtOnceClient) as client:
            assert isinstance(client, ParsedAtOnceClient)
            client.on_text = lambda text, _at_ns: taken.append(text) is None
            await client.send("go")
            assert await asyncio.wait_for(client.recv(), TIMEOUT_S) == "fragmented"
            for _ in range(100):
                if len(taken) == 3:
                    break
                await asyncio.sleep(0.01)
    assert taken == ["x" * 70_000, "é small", "after"]


def test_a_frame_is_found_only_once_it_has_all_arrived_and_unmasked_as_sent() -> None:
    mask = b"\x01\x02\x03\x04"
    for text, masked in (("a", False), ("b" * 200, True), ("c" * 70_000, True)):
        data = text.encode()
        frame = frame_header(len(data), masked) + (mask + apply_mask(data, mask) if masked else data)
        stream = b"\x89\x00" + frame + b"\x81"  # a ping before it, the start of the next frame after it
        assert frame_at(stream, 0, masked) == (2, None)  # not a text frame: websockets reads it
        cuts = {*range(0, 20), *range(0, len(frame), 997), len(frame) - 1}  # within each header form, then across
        assert all(frame_at(stream[: 2 + cut], 2, masked)[0] == -1 for cut in cuts if cut < len(frame))
        assert frame_at(stream, 2, masked) == (2 + len(frame), data)
        assert frame_at(stream, 2, not masked) == (2 + len(frame), None)  # masked the wrong way: websockets fails it
        assert frame_at(stream, 2 + len(frame), masked) == (-1, None)


def test_the_append_shortcut_takes_only_plain_valid_appends() -> None:
    audio = base64.b64encode(bytes(160)).decode()
    plain = rt.audio_append(audio)
    InputAudioBufferAppendEvent.model_validate_json(plain)
    assert plain_append(plain)
    assert not plain_append('{"type":"input_audio_buffer.append","audio":"AA\\u0041"}')
    assert not plain_append('{"type":"input_audio_buffer.append","audio":"AA","audio":"BB"}')
    assert not plain_append('{"type":"input_audio_buffer.append","event_id":"e1","audio":"' + audio + '"}')
    assert not plain_append('{"type":"input_audio_buffer.clear"}')


class _Peer:
    stream_speed = 1.0
    chunk_ms = 20
    first_chunk_after = 0.0
    preroll_ms = 0

    def check_client_event(self, *_args: Any) -> str | None:
        return None


def _frame(kind: bytes | int) -> str:
    data = bytes([kind]) * 160 if isinstance(kind, int) else kind
    return base64.b64encode(data).decode()


async def test_the_peer_takes_quiet_frames_at_once_and_leaves_speech_changes_to_its_reader() -> None:
    session = PeerSession(_Peer(), None, Script(greeting=None))  # type: ignore[arg-type]
    heard: list[int] = []
    session.on_caller_audio = lambda audio, at_ns: heard.append(at_ns)  # type: ignore[method-assign]
    assert session.take_append_now(_frame(SILENCE), 1)
    assert (session.audio_in_ms, session.appends, heard) == (20, 1, [1])
    assert not session.take_append_now(_frame(SPEECH_PATTERN), 2)  # speech starts: speech_started is due
    assert (session.audio_in_ms, session.appends, session.speaking, heard) == (20, 1, False, [1])
    assert not session.take_append_now("not base64!" * 20, 3)
    assert not session.take_append_now(_frame(SILENCE)[:-4], 4)  # not one whole frame
    session.speaking, session.silence_ms = True, 0
    assert session.take_append_now(_frame(SPEECH_PATTERN), 5)  # talking on
    for at in range(6, 6 + 24):  # 480 ms of silence: under the 500 ms that end the turn
        assert session.take_append_now(_frame(SILENCE), at)
    assert session.silence_ms == 480
    assert not session.take_append_now(_frame(SILENCE), 99)  # the 500th ms: speech_stopped is due
    assert session.silence_ms == 480 and session.speaking
