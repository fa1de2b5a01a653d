"""The attack bench: attacks against a started LeadApp, each a small function in a registry.

An attack is a function `(target) -> Outcome` registered with `@attack("<family>", "<name>")` in one of this
package's modules (one module per family: `api`, `links`, `webhooks`, `media`, `events`, `phones`, `database`).
It tries one way in the way an attacker would (HTTP, socket.io, websocket, a direct database connection as the
application role) and says whether it got through: `held(...)` when the defence stopped it, `breached(...)` when
it did not. `python -m bench.attacks` starts the stack, runs every attack once and prints one line per attack and
`attacks tried=N succeeded=S`; it exits non-zero when any attack succeeded (or could not be run).

To add an attack: write the function in the module of its family (or a new module, imported in `load_all`), use
only what `Target` offers (and the stack's own programs), and make it bounded (timeouts on every wait).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

FAMILIES = ("api", "links", "webhooks", "media", "events", "phones", "database", "headers")


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    detail: str


def held(detail: str) -> Outcome:
    """The defence stopped the attack (`detail` says how it answered)."""
    return Outcome(False, detail)


def breached(detail: str) -> Outcome:
    """The attack got through (`detail` says what it obtained)."""
    return Outcome(True, detail)


@dataclass
class Target:
    """What an attacker can reach, and what the bench seeded to aim at.

    `web`: the web app (pages, socket.io at /_event, the JSON API under /api/v1); `bridge`: the voice bridge;
    `web_url`/`bridge_url` their base URLs. `world`: the seeded ids and secrets of the victims and the attacker
    (session tokens of accounts the attacker owns; ids the attacker may have guessed). `env`: the stack's settings
    (what a test needs to forge what Twilio would send, never shown to an attack's HTTP requests).
    """

    web: httpx.Client
    bridge: httpx.Client | None = None
    web_url: str = ""
    bridge_url: str = ""
    world: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attack:
    family: str
    name: str
    run: Callable[[Target], Outcome]
    needs: tuple[str, ...] = ()
    """What of the target it needs beyond `web`: "postgres" (skipped, and said so, on SQLite)."""
    late: bool = False
    """Run after the others (it uses up a limit the others would hit)."""

    @property
    def label(self) -> str:
        return f"{self.family}/{self.name}"


ATTACKS: list[Attack] = []


def attack(
    family: str, name: str, *, needs: tuple[str, ...] = (), late: bool = False
) -> Callable[[Callable[[Target], Outcome]], Any]:
    """Register `fn` as the attack `<family>/<name>` (names are unique)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown attack family {family!r}: one of {FAMILIES}")

    def register(fn: Callable[[Target], Outcome]) -> Callable[[Target], Outcome]:
        label = f"{family}/{name}"
        if any(a.label == label for a in ATTACKS):
            raise ValueError(f"attack {label} is registered twice")
        ATTACKS.append(Attack(family, name, fn, needs, late))
        return fn

    return register


def load_all() -> list[Attack]:
    """Import every family's module (each registers its attacks) and return the registry."""
    for family in FAMILIES:
        importlib.import_module(f"bench.attacks.{family}")
    return sorted(ATTACKS, key=lambda a: a.late)


def run_one(item: Attack, target: Target) -> tuple[str, Outcome]:
    """("held" | "BREACHED" | "ERROR", outcome) of one attack; an attack that crashes is an error, not a pass."""
    try:
        outcome = item.run(target)
    except Exception as exc:  # the bench's own failure: reported, and it fails the run
        return "ERROR", Outcome(False, f"{type(exc).__name__}: {exc}"[:300])
    return ("BREACHED" if outcome.succeeded else "held"), outcome
