"""The stack the attacks run against, and the victims they aim at.

`started(db)` starts LeadApp as `make run` does (`python -m leadapp.launch`: a private Redis, the database
migrated and the demo seeded, the voice bridge, the worker and the production web app, all on loopback, every
provider on its local stand-in) with a Twilio auth token of its own (so the bridge checks signatures, as in
production; no Twilio account, so nothing is dialled for real), then seeds the world: a consumer's request matched
to the demo plumber (not accepted), the demo electrician as a rival tenant, a second consumer as an attacker, calls
(one completed with its recording, one being dialled), and a session cookie for each account.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bench.attacks import Target
from bench.stack import Stack, free_port, wait_for

TEXT_A = "My water heater is leaking all over the garage floor BENCHLEAKA, need a plumber today, budget around $500"
EMAIL_A = "victim-bench@example.com"
PHONE_A = "+13178462200"
ATTACKER_EMAIL = "attacker-bench@example.com"
PASSWORD = "a long enough bench password"


def _start_app(stack: Stack) -> tuple[str, str]:
    web_port, bridge_port = free_port(), free_port()
    stack.env.update(
        VOICE_BRIDGE_PORT=str(bridge_port),
        VOICE_BRIDGE_URL=f"http://127.0.0.1:{bridge_port}",
        APP_URL=f"http://localhost:{web_port}",
        WEB_PORT=str(web_port),
    )
    stack.start("app", [sys.executable, "-m", "leadapp.launch", "--web-port", str(web_port), "--workers", "1"])
    web, bridge = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{bridge_port}"
    wait_for(lambda: httpx.get(f"{web}/api/v1/health", timeout=2).status_code == 200, 420, "web app")
    wait_for(lambda: httpx.get(f"{bridge}/health", timeout=2).status_code == 200, 60, "voice bridge")
    return web, bridge


def _use_stack_settings(env: dict[str, str]) -> None:
    """This process reads the stack's settings (same database, Redis, keys) to seed the world."""
    os.environ.update(env)
    from leadapp.core import broker
    from leadapp.core.db import get_engine
    from leadapp.core.settings import get_settings

    get_settings.cache_clear()
    broker.redis_for.cache_clear()
    with contextlib.suppress(AttributeError):
        get_engine.cache_clear()  # type: ignore[attr-defined]
    from leadapp.core import observability

    observability.configure("bench-attacks")  # LOG_LEVEL=WARNING: the attack lines stay readable


def seed_world(env: dict[str, str]) -> dict[str, Any]:
    """Victims and attackers, as the system (an operator seeding a test deployment)."""
    _use_stack_settings(env)
    from sqlmodel import select

    from leadapp.core import rls
    from leadapp.core.db import session_scope
    from leadapp.core.models import Business, Lead, Match, User, utcnow
    from leadapp.core.seed import CONSUMER_EMAIL, ELECTRICIAN_EMAIL, PLUMBER_EMAIL
    from leadapp.core.services import accounts, intake
    from leadapp.core.services.pipeline import process_lead
    from tests import factories

    world: dict[str, Any] = {}
    with rls.system_context("bench: seed the attacks' world"), session_scope() as s:
        users = {u.email: u for u in s.exec(select(User)).all()}
        plumber, electrician, consumer = users[PLUMBER_EMAIL], users[ELECTRICIAN_EMAIL], users[CONSUMER_EMAIL]
        attacker = users.get(ATTACKER_EMAIL) or accounts.register(s, ATTACKER_EMAIL, PASSWORD, "consumer")
        s.commit()
        accepted = intake.submit(
            s,
            intake.Submission(
                text=TEXT_A,
                zip="46032",
                email=EMAIL_A,
                phone=PHONE_A,
                preferred_contact="phone",
                consent_ai_calls=True,
                consumer_id=consumer.id,
            ),
        )
    process_lead(accepted.lead_id)
    with rls.system_context("bench: seed the attacks' world"), session_scope() as s:
        biz_p = s.exec(select(Business).where(Business.owner_id == plumber.id)).first()
        biz_e = s.exec(select(Business).where(Business.owner_id == electrician.id)).first()
        match = s.exec(select(Match).where(Match.lead_id == accepted.lead_id)).first()
        lead = s.get(Lead, accepted.lead_id)
        assert biz_p is not None and biz_e is not None and lead is not None
        if match is None or match.business_id != biz_p.id:  # the matcher's choice is not the point: make it so
            match = factories.match(s, lead, biz_p)
        now = utcnow()
        qualify_lead_a: dict[str, Any] = {  # both calls: the plumber's, about lead A, with its consent
            "call_type": "qualify_lead",
            "objective": "Qualify the job",
            "consent_at": lead.consent_at,
            "consent_lead_id": lead.id,
            "started_at": now,
        }
        completed = factories.call(
            s,
            lead,
            biz_p,
            "completed",
            **qualify_lead_a,
            provider_call_sid="CA" + secrets.token_hex(16),
            outcome="goal_achieved",
            summary="BENCHSUMMARY the consumer wants a visit today",
            recording_ref="local:bench-missing.wav",
            ended_at=now,
        )
        dialing = factories.call(
            s, lead, biz_p, "dialing", **qualify_lead_a, provider_call_sid="CA" + secrets.token_hex(16)
        )
        world.update(
            lead_a=lead.id,
            lead_a_text=TEXT_A,
            email_a=EMAIL_A,
            phone_a=PHONE_A,
            match_a=match.id,
            business_plumber=biz_p.id,
            business_electrician=biz_e.id,
            call_completed=completed.id,
            call_completed_sid=completed.provider_call_sid,
            call_dialing=dialing.id,
            call_dialing_sid=dialing.provider_call_sid,
            user_plumber=plumber.id,
            user_electrician=electrician.id,
            user_consumer=consumer.id,
            user_attacker=attacker.id,
            session_plumber=accounts.open_session(s, plumber),
            session_electrician=accounts.open_session(s, electrician),
            session_consumer=accounts.open_session(s, consumer),
            session_attacker=accounts.open_session(s, attacker),
        )
    return world


@contextlib.contextmanager
def started(db: str = "sqlite") -> Iterator[Target]:
    """The stack, seeded, as a `Target`; everything is stopped and removed afterwards."""
    stack = Stack()
    try:
        stack.env.update(
            SECRET_KEY=secrets.token_hex(32),
            TWILIO_AUTH_TOKEN=secrets.token_hex(16),  # the bridge checks Twilio's signatures with it
            SEED_DEMO="true",
            DATABASE_MANAGE_ROLES="true",
            CALLING_HOURS_START="0",
            CALLING_HOURS_END="24",
            RECORDINGS_DIR=str(stack.workdir / "recordings"),
            # Deployed behind a proxy (the bench's own loopback address): X-Forwarded-For is read, so an attack can
            # write it as a client would and append the address a real proxy would add after it.
            TRUSTED_PROXY_HEADER="X-Forwarded-For",
            TRUSTED_PROXIES="127.0.0.1/32",
        )
        stack.redis()
        stack.database(db)
        web_url, bridge_url = _start_app(stack)
        world = seed_world(stack.env)
        world["db"] = db
        with httpx.Client(base_url=web_url, timeout=20) as web, httpx.Client(base_url=bridge_url, timeout=20) as bridge:
            yield Target(web=web, bridge=bridge, web_url=web_url, bridge_url=bridge_url, world=world, env=stack.env)
    except BaseException:
        print(stack.log_tail("app"), file=sys.stderr)
        raise
    finally:
        stack.stop()
        time.sleep(0.1)
