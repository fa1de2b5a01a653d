"""Recording references and byte ranges (no network): what the streaming route relies on."""

from __future__ import annotations

import pytest

from leadapp.core.providers import recordings
from voice_bridge.loopback.twilio_caller import ULAW_TO_LINEAR, mixed_wav

SID = "RE" + "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 1000, None),
        ("bytes=0-99", 1000, (0, 99)),
        ("bytes=900-", 1000, (900, 999)),
        ("bytes=900-5000", 1000, (900, 999)),
        ("bytes=-100", 1000, (900, 999)),
        ("bytes=-5000", 1000, (0, 999)),
        ("bytes=1000-", 1000, "unsatisfiable"),
        ("bytes=-0", 1000, "unsatisfiable"),
        ("bytes=0-1,5-9", 1000, None),  # several ranges: the whole file (allowed by RFC 9110)
        ("items=0-9", 1000, None),
        ("bytes=9-3", 1000, None),
        ("bytes=-", 1000, None),
        ("bytes=10-19", None, (10, 19)),
        ("bytes=-10", None, None),
    ],
)
def test_parse_range(header: str | None, size: int | None, expected: object) -> None:
    assert recordings.parse_range(header, size) == expected


def test_a_recording_reference_is_a_twilio_sid_or_a_plain_local_file_name(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadapp.core.settings import get_settings

    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path))
    get_settings.cache_clear()
    assert recordings.twilio_sid(SID) == SID
    assert recordings.twilio_sid(f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{SID}") == SID
    assert recordings.twilio_sid("RE123") is None and recordings.twilio_sid("local:x.wav") is None
    ref = recordings.save_local(7, b"RIFF....")
    assert recordings.local_path(ref) is not None and recordings.local_path(ref).read_bytes() == b"RIFF...."  # type: ignore[union-attr]
    for smuggled in ("local:../secret.wav", "local:/etc/passwd.wav", "local:a/b.wav", "local:x.mp3", "local:.wav"):
        assert recordings.local_path(smuggled) is None
    assert recordings.delete(ref) and recordings.local_path(ref).exists() is False  # type: ignore[union-attr]
    get_settings.cache_clear()


def test_ulaw_decodes_and_the_mix_is_a_wav_of_the_right_length() -> None:
    assert ULAW_TO_LINEAR[0xFF] == 0 and ULAW_TO_LINEAR[0x7F] == 0  # the two silences
    assert ULAW_TO_LINEAR[0x00] == -32124 and ULAW_TO_LINEAR[0x80] == 32124  # the loudest
    wav = mixed_wav([[(0.0, bytes([0x80]) * 8000)], [(500.0, bytes([0x00]) * 4000)]])
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert len(wav) == 44 + 2 * 8000  # one second at 8 kHz, 16-bit
    assert wav[44 + 2 * 4000 : 44 + 2 * 4001] == b"\x00\x00"  # both sides at once cancel out here
