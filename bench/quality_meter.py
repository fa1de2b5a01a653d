"""`python -m bench.quality_meter`: what the per-call quality measurements add to each assistant audio frame.

The bridge measures a call as it goes (`voice_bridge.quality.QualityMeter`): per assistant audio delta forwarded to
Twilio it reads the clock once more and calls `audio_sent` (a few additions and one histogram increment); caller
frames get nothing. On a shared machine the whole-bridge figures of `bench.bridge` drift by more than this, so the
added work is timed here on its own, against the clock reads alone.

Last line: `quality_meter frames=N per_frame_us=A clock_reads_us=B meter_us=C`.
"""

from __future__ import annotations

import argparse
import time

from voice_bridge.quality import QualityMeter
from voice_bridge.session import now_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000, help="frames timed per repeat (default: 200000)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats; the fastest is reported (default: 5)")
    args = parser.parse_args()
    meter = QualityMeter()
    meter.started(0.0)
    measured, clocks = [], []
    for _ in range(args.repeats):
        begin = time.perf_counter()
        for _ in range(args.frames):
            received = now_ms()
            meter.audio_sent(received, now_ms(), 800)
        measured.append((time.perf_counter() - begin) / args.frames * 1e6)
        begin = time.perf_counter()
        for _ in range(args.frames):
            now_ms()
            now_ms()
        clocks.append((time.perf_counter() - begin) / args.frames * 1e6)
    per_frame, clock = min(measured), min(clocks)
    print(
        f"quality_meter frames={args.frames} per_frame_us={per_frame:.3f} clock_reads_us={clock:.3f} "
        f"meter_us={per_frame - clock:.3f}"
    )


if __name__ == "__main__":
    main()
