"""The attack bench's registry (`python -m bench.attacks` runs it against a started stack; here: one attack
against the API in-process, to show the registry and the verdicts work)."""

from __future__ import annotations

from starlette.testclient import TestClient

from bench.attacks import Outcome, Target, breached, load_all, run_one
from tests.conftest import clear_app_caches


def test_the_registry_holds_at_least_25_distinct_attacks_of_known_families() -> None:
    attacks = load_all()
    labels = [a.label for a in attacks]
    assert len(labels) == len(set(labels)) >= 25
    assert [a.late for a in attacks] == sorted(a.late for a in attacks)  # the limit-eaters run last


def test_one_attack_runs_and_is_held(app_env: dict[str, str]) -> None:
    clear_app_caches()
    from leadapp.api.app import api

    (malformed,) = [a for a in load_all() if a.label == "api/malformed-json"]
    with TestClient(api, raise_server_exceptions=False) as client:
        verdict, outcome = run_one(malformed, Target(web=client))
    assert verdict == "held", outcome.detail


def test_a_crashing_attack_is_an_error_and_a_breach_is_reported() -> None:
    from bench.attacks import Attack

    def crashes(_t: Target) -> Outcome:
        raise RuntimeError("the bench is broken")

    target = Target(web=None)  # type: ignore[arg-type]
    assert run_one(Attack("api", "crash", crashes), target)[0] == "ERROR"
    assert run_one(Attack("api", "open", lambda _t: breached("got in")), target)[0] == "BREACHED"
