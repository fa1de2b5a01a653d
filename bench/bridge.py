"""`python -m bench.bridge --calls N --seconds S`: N simultaneous phone calls through the real voice bridge.

Starts a private Redis and a fresh SQLite database with the demo data plus N outbound calls (provider
"twilio", status "ringing", each with its lead) for the demo plumber's business, a fake OpenAI Realtime
server, and the real bridge as its own process pinned to core 0
(`taskset -c 0 python -m uvicorn voice_bridge.app:app --ws WS`, WS being the websocket protocol that
`python -m voice_bridge` serves with; configured with OPENAI_API_KEY/OPENAI_BASE_URL of the fake,
TWILIO_AUTH_TOKEN, VOICE_BRIDGE_PUBLIC_URL, DATABASE_URL, REDIS_URL). This process, pinned to core 1,
is both Twilio (N signed media streams opened at once) and OpenAI (the fake); everything listens on
127.0.0.1 and is stopped at the end, also on errors and Ctrl-C.

Per call (the default load; `--load outside` is issue 16's independent harness, see `bench.bridge_load.Load`:
20 ms deltas whose first 100 ms go at once, the peer starting each turn 1 s ± 50 % after the last one, the caller
barging in 1 s into every second turn):
- up: a 20 ms μ-law frame every 20 ms (phases spread over the 20 ms in ten 2 ms groups, all sent from one timer,
  `bench.bridge_load.Uplink`). The first 14 bytes of every frame
  carry (call, sequence, send time in monotonic ns); the rest is silence (0xFF) or, while the caller
  talks, speech-like bytes, so the fake's toy VAD (0xFF/0x7F = silence) still hears what it should.
- down: the fake answers each turn with ~2 s of audio sent at real rate (`--delta-ms` chunks, with
  transcript deltas); the first 14 bytes of every delta carry (item, chunk, chunks, send time). The
  caller plays it out at 8 bytes/ms, echoes each mark once the audio ahead of it has played, and on
  `clear` drops the rest and echoes the pending marks, as Twilio does.
- turns: even items are heard to the end, then (after 0.1-0.6 s) the caller talks for 300 ms; the fake's
  VAD answers 500 ms of silence later. Odd items are interrupted 30-60 % of the way in: a barge-in, for
  which the fake sends `speech_started`, cancels the response and expects a valid truncate.

Measured over a window of S seconds, after every call has heard its first audio and `--warmup` more:
- up latency: the caller's frame leaving (timestamp taken just before its message is framed and written) → the
  fake receiving the `input_audio_buffer.append` carrying it (timestamp as its frame has been parsed, before
  validation);
- down latency: the fake sending a `response.output_audio.delta` (stamped just before it is written) → the
  caller receiving the Twilio `media` message carrying it (as it is parsed);
- clear latency: the fake sending a barge-in `speech_started` → the caller receiving Twilio `clear`;
- lost: frames sent up in the window that never reached the fake, plus deltas sent in the window that
  never reached the caller (counted after `--drain` seconds more of traffic);
- CPU: the bridge process tree's CPU time (/proc, user + system) in the window / uplink frames sent.
Both clocks are CLOCK_MONOTONIC of one process, so no clock skew enters the numbers. That process keeps its
garbage collector off from the window to the end of the drain (it collects just before), so that its own
pauses are not stamped onto the program measured; `loadgen_lag_p99_ms`/`loadgen_lag_max_ms` say how late its
event loop ran a 5 ms timer in the window (a busy load generator delays the stamps too), and
`loadgen_cpu_us_per_frame` (with `loadgen_cpu_pct`) what it spent itself, both ends of every call, per uplink
frame. The load generator is kept cheap so that those figures measure the bridge: one timer for every call's
uplink, messages written to the socket as they are stamped (`bench.bridge_wire`: the same bytes as websockets
writes, no per-send machinery), only the stamps base64-encoded per message, the frames of what arrives split by
the generator itself (a whole text message in one frame; anything else is handed to websockets) and each
message taken in the read callback as it is parsed (an append the peer's VAD has nothing to answer about
included; a `media` payload and a `mark` name read without json.loads) instead of waking a reader task for each.
`--profile DIR` writes a cProfile of the generator over each window to DIR/<phase>.prof.

The bridge runs with VOICE_BRIDGE_LOOP_STATS on (`voice_bridge.loop_stats`): over the window, its own event loop's
lag (how late a 5 ms timer fired: `loop_lag_p99_ms`, `loop_lag_max_ms`), the largest burst of socket writes in
one loop turn (`loop_max_writes_per_turn`), its garbage collections and their longest pause, read from its
`GET /debug/loop` at the window's start (reset) and end.

Then the same load goes through `bench.relay` (a raw `websockets` pass-through, no SDK, no logic), also
pinned to core 0, with a fresh fake: its CPU per uplink frame is the floor. Every client event the fake
receives, appends included, is validated against `openai.types.realtime.RealtimeClientEvent`.

The two alternate for `--rounds` rounds (bridge, relay, bridge, relay, …; each bridge round with N fresh
calls), so that both meet the machine in the same moments: on a shared machine the CPU time per frame of
one program drifts by ±20 % from one minute to the next, and one bridge phase followed by one relay phase
compared two different moments. The figures pool the rounds (CPU and frames summed, latency samples
together); the ratio of each round is printed too.

The load (both ends of every call) is `bench.bridge_load`; a phase's run and figures are `bench.bridge_phase`.
The bridge (uvicorn's `--loop auto`), the relay and the load generator all run on the same kind of event loop
(`bench.event_loop`: uvloop when installed), so the floor is not a slower loop than the bridge's and the generator
is as cheap as it can be; the last line says which (`loop=`).

Last line: `bridge calls=N up_p50_us=A up_p99_us=B down_p99_us=C cpu_us_per_frame=D
floor_cpu_us_per_frame=E clear_p99_ms=F lost=G load=L loop_lag_p99_ms=H loop_lag_max_ms=I max_writes_per_turn=J loop=K`;
one `phase=…` line per phase above it has the details.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bench import event_loop
from bench.bridge_load import API_KEY, AUTH_TOKEN, LOADS, MODEL, PUBLIC_BASE, BenchPeer, Load, Stats
from bench.bridge_phase import Phase, pooled, run_phase
from bench.stack import Stack, free_port, stack, wait_for
from voice_bridge import WS_PROTOCOL

PROCESS_STOP_TIMEOUT_S = 30.0


# --- set-up -----------------------------------------------------------------------------------------


def seed_calls(database_url: str, redis_url: str, n: int) -> list[tuple[int, str]]:
    """N outbound calls of the demo plumber's business, each about its own consenting lead (as the tests seed)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    from sqlmodel import select

    from leadapp.core import rls
    from leadapp.core.db import engine_for, session_scope
    from leadapp.core.models import Business, User
    from leadapp.core.seed import PLUMBER_EMAIL
    from leadapp.core.settings import get_settings
    from tests import factories

    get_settings.cache_clear()
    targets: list[tuple[int, str]] = []
    with session_scope(rls.system("bench.bridge: seed calls")) as session:
        owner = session.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
        business = session.exec(select(Business).where(Business.owner_id == owner.id)).one()
        for i in range(n):
            phone = f"+1317555{1000 + i:04d}"
            email = f"caller{i}@example.com"
            lead = factories.leaking_heater(session, phone, email, f"Caller {i}")
            call = factories.placed_call(session, lead, business)
            targets.append((call.id, call.provider_call_sid))  # type: ignore[arg-type]
    engine_for(database_url).dispose()
    return targets


def pin_command(core: int | None, argv: list[str]) -> list[str]:
    if core is not None and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *argv]
    return argv


def pin_process(core: int | None, pid: int) -> None:
    """When taskset is missing: pin the child after the fact (its later threads inherit the mask)."""
    if core is not None and not shutil.which("taskset"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, {core})


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=PROCESS_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- the programs measured ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A program measured under the load: how it is started against a phase's fake OpenAI, and when it is up."""

    name: str
    """Its name in the stack (its log) and the start of its phases' names."""
    command: Callable[[int, BenchPeer], list[str]]
    """Its command line: serving the media streams on this port, dialling this fake."""
    is_up: Callable[[int], bool]
    up_timeout_s: float
    up_what: str
    """What it is, as a timeout waiting for it says."""
    env: Callable[[BenchPeer], dict[str, str]] = field(default=lambda _fake: {})
    """What it finds in its environment besides the stack's (nothing more by default)."""
    checks_handshakes: bool = False
    """Its handshakes with the fake must all have been accepted (the bridge's; the relay's are not checked)."""
    loop_path: str | None = None
    """Where it answers its own event-loop figures (the bridge with VOICE_BRIDGE_LOOP_STATS on)."""


def bridge_command(port: int, _fake: BenchPeer) -> list[str]:
    argv = [sys.executable, "-m", "uvicorn", "voice_bridge.app:app", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--ws", WS_PROTOCOL, "--no-proxy-headers"]  # as `python -m voice_bridge` serves it
    return [*argv, "--log-level", "warning"]


def bridge_env(fake: BenchPeer) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "VOICE_BRIDGE_PUBLIC_URL": PUBLIC_BASE,
        "PYTHONUNBUFFERED": "1",
        "VOICE_BRIDGE_LOOP_STATS": "true",
    }


def bridge_up(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200


def relay_command(port: int, fake: BenchPeer) -> list[str]:
    argv = [sys.executable, "-m", "bench.relay", "--port", str(port), "--upstream", fake.ws_url(MODEL)]
    return [*argv, "--api-key", API_KEY]


BRIDGE = Program(
    "bridge",
    bridge_command,
    bridge_up,
    60,
    "voice bridge",
    env=bridge_env,
    checks_handshakes=True,
    loop_path="/debug/loop",
)
"""The real bridge, served by uvicorn as `python -m voice_bridge` serves it."""
RELAY = Program("relay", relay_command, port_open, 30, "relay")
"""`bench.relay`, a raw pass-through: the floor."""


async def program_phase(
    s: Stack, args: argparse.Namespace, targets: list[tuple[int, str]], core: int | None, program: Program, name: str
) -> Phase:
    """One measured phase through `program`, started for it and stopped after it (with its own fresh fake)."""
    stats = Stats()
    load: Load = args.load_spec
    fake = await BenchPeer(stats, load).start()
    try:
        port = free_port()
        proc = s.start(program.name, pin_command(core, program.command(port, fake)), **program.env(fake))
        pin_process(core, proc.pid)
        await asyncio.to_thread(wait_for, lambda: program.is_up(port), program.up_timeout_s, program.up_what)
        loop_url = f"http://127.0.0.1:{port}{program.loop_path}" if program.loop_path else None
        phase = await run_phase(name, f"ws://127.0.0.1:{port}/media", targets, stats, proc.pid, args, load, loop_url)
        if program.checks_handshakes and fake.problems:
            raise RuntimeError(f"the bridge's handshakes with the fake OpenAI failed: {sorted(set(fake.problems))}")
        await asyncio.to_thread(stop_process, proc)  # the core is quiet again before the next phase
        return phase
    finally:
        await fake.stop()


async def bench(s: Stack, args: argparse.Namespace) -> tuple[list[Phase], list[Phase]]:
    """`--rounds` rounds of (bridge phase, relay phase), alternating, so both see the machine at the same moments.

    Each bridge round serves its own N fresh calls (a finished call is not served twice).
    """
    cores = sorted(os.sched_getaffinity(0))
    program_core, loadgen_core = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    if program_core is None:
        print("warning: fewer than 2 usable cores, nothing is pinned", file=sys.stderr)
    await asyncio.to_thread(s.redis)
    await asyncio.to_thread(s.database, "sqlite")
    targets = await asyncio.to_thread(seed_calls, s.env["DATABASE_URL"], s.env["REDIS_URL"], args.calls * args.rounds)
    if loadgen_core is not None:
        os.sched_setaffinity(0, {loadgen_core})
    bridges: list[Phase] = []
    relays: list[Phase] = []
    for r in range(args.rounds):
        round_targets = targets[r * args.calls : (r + 1) * args.calls]
        bridges.append(await program_phase(s, args, round_targets, program_core, BRIDGE, f"bridge#{r + 1}"))
        print(bridges[-1].describe(), flush=True)
        if args.floor:
            relays.append(await program_phase(s, args, round_targets, program_core, RELAY, f"relay#{r + 1}"))
            print(relays[-1].describe(), flush=True)
    return bridges, relays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="simultaneous calls (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds after every call is up (default: 2)")
    parser.add_argument("--drain", type=float, default=1.5, help="seconds of traffic after the window (default: 1.5)")
    parser.add_argument(
        "--load",
        choices=sorted(LOADS),
        default="default",
        help="how the turns come: default (the caller's answers start them), or outside (issue 16's independent "
        "harness: 20 ms deltas, 100 ms preroll, 1 s +/- 50 %% gaps, barge-in 1 s into every second turn)",
    )
    parser.add_argument("--turn-ms", type=int, default=None, help="audio per assistant turn (default: the load's)")
    parser.add_argument("--delta-ms", type=int, default=None, help="audio per delta (default: the load's)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the callers' timing")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        default=None,
        help="profile the load generator over each window (cProfile, CPU time) into DIR/<phase>.prof; its CPU "
        "figures then include the profiler's own cost",
    )
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True, help="also run the relay")
    parser.add_argument(
        "--rounds", type=int, default=3, help="bridge/relay phases, alternating; figures pooled (default: 3)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20:
        parser.error("need 1 <= --rounds <= 20")
    load = LOADS[args.load]
    args.load_spec = load = dataclasses.replace(
        load, turn_ms=args.turn_ms or load.turn_ms, delta_ms=args.delta_ms or load.delta_ms
    )
    if not 1 <= args.calls <= 60000 or args.seconds <= 0 or load.delta_ms < 20 or load.turn_ms % load.delta_ms:
        parser.error("need 1 <= --calls <= 60000, --seconds > 0, --delta-ms >= 20, --turn-ms a multiple of it")

    with stack() as s:
        try:
            bridges, relays = event_loop.run(bench(s, args))  # the generator on the programs' kind of loop
        except BaseException:
            for name in ("bridge", "relay"):
                tail = s.log_tail(name)
                if tail:
                    print(f"--- {name} log ---\n{tail}", file=sys.stderr)
            raise
        bridge = pooled(bridges)
        log = s.log_tail("bridge", 200_000)
        problems = [line for line in log.splitlines() if any(w in line.lower() for w in ("error", "warn", "fail"))]
        if problems or bridge.lost or bridge.stats.invalid_events or bridge.stats.truncates_bad:
            print(f"--- bridge log: {len(problems)} error/warning lines ---\n{log[-3000:]}", file=sys.stderr)
    print(bridge.describe())
    floor = float("nan")
    if relays:
        relay = pooled(relays)
        print(relay.describe())
        floor = relay.cpu_us_per_frame
        rounds = zip(bridges, relays, strict=True)
        ratios = " ".join(f"{b.cpu_us_per_frame / r.cpu_us_per_frame:.2f}" for b, r in rounds)
        print(f"cpu_ratio per round (bridge/floor): {ratios}; pooled {bridge.cpu_us_per_frame / floor:.2f}")
    b = bridge.stats
    print(
        f"bridge calls={bridge.calls} up_p50_us={bridge.us(b.up_ns, 50):.0f} up_p99_us={bridge.us(b.up_ns, 99):.0f} "
        f"down_p99_us={bridge.us(b.down_ns, 99):.0f} cpu_us_per_frame={bridge.cpu_us_per_frame:.1f} "
        f"floor_cpu_us_per_frame={floor:.1f} clear_p99_ms={bridge.us(b.clear_ns, 99) / 1000:.2f} lost={bridge.lost} "
        f"load={args.load} loop_lag_p99_ms={bridge.loop.get('lag_p99_ms', float('nan')):g} "
        f"loop_lag_max_ms={bridge.loop.get('lag_max_ms', float('nan')):g} "
        f"max_writes_per_turn={bridge.loop.get('max_writes_per_turn', float('nan')):g} loop={event_loop.loop_name()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
