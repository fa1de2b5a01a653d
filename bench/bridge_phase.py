"""One phase of `bench.bridge`: N calls through one program (the bridge or the relay) opened at once, warmed up,
measured over a window and drained, with the program's CPU time read from /proc; and the figures of a phase
(`Phase.describe`), several rounds pooled into one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from bench.bridge_load import AUTH_TOKEN, PUBLIC_WSS, Caller, Load, Stats, Uplink
from bench.stack import _process_tree
from leadapp.core.services.call_quality import percentile
from voice_bridge.loopback.script import FRAME_MS

CONNECT_TIMEOUT_S = 60.0
READY_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 30.0


# --- one phase: N calls through one program ---------------------------------------------------------


@dataclass
class Phase:
    name: str
    calls: int
    stats: Stats
    cpu_seconds: float
    loadgen_cpu_seconds: float
    seconds: float
    runqueue_wait_seconds: float
    loadgen_runqueue_wait_seconds: float
    loop: dict[str, float] = field(default_factory=dict)
    """The program's own event-loop figures over the window (the bridge's `GET /debug/loop`), when it has them."""

    @property
    def lost_up(self) -> int:
        return self.stats.up_sent - self.stats.up_received

    @property
    def lost_down(self) -> int:
        return self.stats.down_sent - self.stats.down_received

    @property
    def lost(self) -> int:
        return self.lost_up + self.lost_down

    @property
    def cpu_us_per_frame(self) -> float:
        return self.cpu_seconds * 1e6 / self.stats.up_sent if self.stats.up_sent else float("nan")

    @property
    def loadgen_cpu_us_per_frame(self) -> float:
        """The load generator's own CPU time (both ends of every call) per uplink frame sent in the window."""
        return self.loadgen_cpu_seconds * 1e6 / self.stats.up_sent if self.stats.up_sent else float("nan")

    def us(self, samples: list[int], q: float) -> float:
        """The nearest-rank `q`-th percentile (0 < q ≤ 100) of `samples` in ns, in µs; nan for no samples."""
        value = percentile(samples, q)
        return float("nan") if value is None else value / 1000

    def describe(self) -> str:
        s = self.stats
        clear_missing = s.clears_expected - len(s.clear_ns)
        return (
            f"phase={self.name} calls={self.calls} seconds={self.seconds:g} frames_up={s.up_sent} "
            f"lost_up={self.lost_up} up_p50_us={self.us(s.up_ns, 50):.0f} up_p99_us={self.us(s.up_ns, 99):.0f} "
            f"up_max_us={self.us(s.up_ns, 100):.0f} deltas_down={s.down_sent} lost_down={self.lost_down} "
            f"down_p50_us={self.us(s.down_ns, 50):.0f} down_p99_us={self.us(s.down_ns, 99):.0f} "
            f"down_max_us={self.us(s.down_ns, 100):.0f} clears={len(s.clear_ns)} clear_missing={clear_missing} "
            f"clear_unexpected={s.clears_unexpected} clear_p50_ms={self.us(s.clear_ns, 50) / 1000:.2f} "
            f"clear_p99_ms={self.us(s.clear_ns, 99) / 1000:.2f} truncates_ok={s.truncates_ok} "
            f"truncates_bad={s.truncates_bad} invalid_events={s.invalid_events} cpu_s={self.cpu_seconds:.2f} "
            f"cpu_us_per_frame={self.cpu_us_per_frame:.1f} "
            f"runq_wait_ms={1000 * self.runqueue_wait_seconds:.0f} "
            f"loadgen_cpu_pct={100 * self.loadgen_cpu_seconds / self.seconds:.0f} "
            f"loadgen_cpu_us_per_frame={self.loadgen_cpu_us_per_frame:.1f} "
            f"loadgen_runq_wait_ms={1000 * self.loadgen_runqueue_wait_seconds:.0f} "
            f"loadgen_lag_p99_ms={self.us(s.loadgen_lag_ns, 99) / 1000:.2f} "
            f"loadgen_lag_max_ms={self.us(s.loadgen_lag_ns, 100) / 1000:.2f}"
            + "".join(f" loop_{name}={value:g}" for name, value in self.loop.items())
        )


def tree_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, all threads) of these processes so far, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's main thread (its event loop) spent runnable but waiting for its CPU (/proc schedstat).

    Not part of the result: it shows how much other programs sharing the core delayed the loop measured.
    """
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


LAG_TICK_S = 0.005


async def watch_loop_lag(stats: Stats) -> None:
    """How late this process's event loop (callers and fake alike) wakes a 5 ms timer, sampled in the window.

    The latencies are stamped here, so a busy load generator shows up in them too; this says how much.
    """
    while True:
        start = time.monotonic_ns()
        await asyncio.sleep(LAG_TICK_S)
        if stats.window(start):
            stats.loadgen_lag_ns.append(max(0, time.monotonic_ns() - start - int(LAG_TICK_S * 1e9)))


def loop_figures(url: str | None, reset: bool = False) -> dict[str, float]:
    """The program's event-loop figures from its stats endpoint (none without one); `reset` starts them anew."""
    if url is None:
        return {}
    answer = httpx.get(url, params={"reset": "1"} if reset else None, timeout=10)
    answer.raise_for_status()
    return {str(k): float(v) for k, v in answer.json().items()}


async def run_phase(
    name: str,
    media_url: str,
    targets: list[tuple[int, str]],
    stats: Stats,
    program_pid: int,
    args: argparse.Namespace,
    load: Load,
    loop_url: str | None = None,
) -> Phase:
    """Open every call at once, wait until each hears audio, warm up, measure `args.seconds`, drain, hang up.

    With `loop_url`, the program's own event-loop figures are read over the window too.
    """
    rng = random.Random(args.seed)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_WSS, {})
    callers = [
        Caller(i, media_url, signature, call_id, sid, stats, random.Random(rng.random()), load)
        for i, (call_id, sid) in enumerate(targets)
    ]
    n = len(callers)
    loop = asyncio.get_running_loop()
    total_s = READY_TIMEOUT_S + args.warmup + args.seconds + args.drain + 5
    max_frames = int(total_s * 1000 / FRAME_MS)
    lag_watch: asyncio.Task[None] | None = None
    uplink: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(asyncio.gather(*(c.open() for c in callers)), CONNECT_TIMEOUT_S)
        uplink = asyncio.create_task(Uplink(callers, loop.time() + 0.05, max_frames).run())
        try:
            await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in callers)), READY_TIMEOUT_S)
        except TimeoutError:
            silent = sum(1 for c in callers if not c.ready.is_set())
            raise RuntimeError(f"{name}: {silent} of {n} calls heard no audio within {READY_TIMEOUT_S:.0f} s") from None
        await asyncio.sleep(args.warmup)
        # This process stamps the latencies: a full collection of its heap (over 100 ms once the phases' samples
        # pile up) would stall every call at once and be counted against the program measured. It collects
        # now, and not again until the window and the drain are over.
        gc.collect()
        gc.disable()
        lag_watch = asyncio.create_task(watch_loop_lag(stats))
        pids = await asyncio.to_thread(_process_tree, program_pid)
        await asyncio.to_thread(loop_figures, loop_url, True)
        cpu0, own0 = tree_cpu_seconds(pids), own_cpu_seconds()
        wait0, own_wait0 = runqueue_wait_seconds(program_pid), runqueue_wait_seconds(os.getpid())
        profiler = cProfile.Profile() if args.profile else None
        stats.w0 = time.monotonic_ns()
        stats.w1 = stats.w0 + int(args.seconds * 1e9)
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(max(0.0, (stats.w1 - time.monotonic_ns()) / 1e9))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(Path(args.profile) / f"{name.replace('#', '-')}.prof")
        cpu1, own1 = tree_cpu_seconds(pids), own_cpu_seconds()
        wait1, own_wait1 = runqueue_wait_seconds(program_pid), runqueue_wait_seconds(os.getpid())
        program_loop = await asyncio.to_thread(loop_figures, loop_url)
        await asyncio.sleep(args.drain)  # traffic goes on; what is still missing after this counts as lost
    finally:
        gc.enable()
        for task in (lag_watch, uplink):
            if task is not None:
                task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.finish() for c in callers), return_exceptions=True), CLOSE_TIMEOUT_S
            )
    return Phase(
        name, n, stats, cpu1 - cpu0, own1 - own0, args.seconds, wait1 - wait0, own_wait1 - own_wait0, program_loop
    )


def pooled(phases: list[Phase]) -> Phase:
    """The rounds of one program as one phase: counters and CPU summed, latency samples put together."""
    first = phases[0]
    stats = Stats()
    for phase in phases:
        for name, value in vars(phase.stats).items():
            if isinstance(value, int) and name not in ("w0", "w1"):
                setattr(stats, name, getattr(stats, name) + value)
            elif isinstance(value, list):
                getattr(stats, name).extend(value)
    return Phase(
        first.name.partition("#")[0],
        first.calls,
        stats,
        sum(p.cpu_seconds for p in phases),
        sum(p.loadgen_cpu_seconds for p in phases),
        sum(p.seconds for p in phases),
        sum(p.runqueue_wait_seconds for p in phases),
        sum(p.loadgen_runqueue_wait_seconds for p in phases),
        pooled_loop([p.loop for p in phases]),
    )


def pooled_loop(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The rounds' event-loop figures as one: counts summed, the rest (p99, max) the worst round's."""
    pooled: dict[str, float] = {}
    for figures in rounds:
        for name, value in figures.items():
            counted = name in ("lag_samples", "writes", "gc_collections", "gc_full")
            pooled[name] = pooled.get(name, 0.0) + value if counted else max(pooled.get(name, value), value)
    return pooled
