"""Attacks on a business's phone line, its called-in leads and the matching signals, each written as the attack.

Through the page handlers (the way a browser reaches them, whatever arguments it sends) and the services
behind them: only a business's owner or an admin may connect, disconnect or ring its line or release its
leads; a number belongs to one business; a lead that was not a call to you cannot be "released" to take it
from the marketplace; owners cannot rate themselves, whatever they put in the settings form; the inbound
status webhook only takes Twilio's signature. Every refusal changes nothing.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import reflex as rx
from reflex.istate.data import ReflexURL, RouterData
from sqlmodel import Session, select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, Business, Call, Lead, Match, User, utcnow
from leadapp.core.services import accounts, inbound, moderation
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.intake import Submission
from leadapp.pages.admin.businesses import BusinessesState
from leadapp.pages.business.dashboard import DashboardState
from leadapp.pages.business.phone_line import PhoneLineState
from leadapp.pages.business.settings import BusinessSettingsState
from leadapp.state.auth import AuthState
from tests import factories
from tests.conftest import clear_app_caches

PASSWORD = "a long enough password"
_serial = itertools.count(1)


# --- the world: two businesses side by side, a consumer, an admin -------------------------------------


class World:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {"anonymous": ""}
        for actor, role in (("x", "business_owner"), ("y", "business_owner"), ("consumer", "consumer")):
            self.users[actor] = accounts.register(session, f"{actor}{next(_serial)}@example.com", PASSWORD, role)
        self.users["admin"] = accounts.ensure_admin(session, f"admin{next(_serial)}@example.com", PASSWORD)
        self.biz: dict[str, Business] = {}
        for actor, name in (("x", "X Plumbing"), ("y", "Y Drains")):
            business = Business(
                verified_at=utcnow(),
                owner_id=self.users[actor].id,  # type: ignore[arg-type]
                name=name,
                zip="46032",
                latitude=39.9712,
                longitude=-86.1245,
                categories=["plumbing"],
                notify_email=f"{actor}-leads@example.com",
                rating=3.1,
                review_count=7,
            )
            session.add(business)
            self.biz[actor] = business
        session.commit()
        for actor, user in self.users.items():
            self.tokens[actor] = accounts.open_session(session, user)
        session.commit()

    def user(self, actor: str) -> User | None:
        return self.users.get(actor)

    def business(self, actor: str) -> Business:
        self.s.expire_all()
        business = self.s.get(Business, self.biz[actor].id)
        assert business is not None
        return business


@pytest.fixture
def world(db_session: Session) -> World:
    return World(db_session)


def handler(cls: type[AuthState], name: str, world: World, actor: str, *args: Any, path: str = "/", **preset: Any):
    """Call one page handler as `actor` the way the Reflex backend does; returns the state afterwards."""
    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData(url=ReflexURL(f"http://localhost:3000{path}"))
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    state.session_token = world.tokens[actor]
    for var, value in preset.items():  # what a tampered tab claims to show
        setattr(state, var, value)
    cls.event_handlers[name].fn(state, *args)
    return state


def snapshot(world: World) -> list[tuple]:
    world.s.expire_all()
    rows = world.s.exec(select(Business).order_by(Business.id)).all()
    calls = world.s.exec(select(Call.id, Call.status)).all()
    return [
        *[(b.id, b.inbound_number, b.inbound_number_sid, b.rating, b.review_count, b.name) for b in rows],
        *calls,
    ]


# --- the phone line ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attacker", ["anonymous", "consumer", "y"])
@pytest.mark.parametrize("action", ["connect_local", "disconnect", "simulate_call", "connect_number", "list_numbers"])
def test_nobody_but_the_owner_or_an_admin_touches_a_line(world: World, attacker: str, action: str) -> None:
    inbound.connect_local_number(world.s, world.user("x"), world.biz["x"].id)  # X's line exists: the target
    world.s.commit()
    before = snapshot(world)
    args = ("PN" + "0" * 32,) if action == "connect_number" else ()
    # The tab claims X's business (a forged state): the services decide from the session, not the claim.
    state = handler(PhoneLineState, action, world, attacker, *args, business_id=world.biz["x"].id)
    assert snapshot(world) == before
    assert state.number == ""  # X's line is never shown to them
    assert state.error or attacker == "anonymous"


def test_the_line_of_another_business_is_not_shown_from_the_url(world: World) -> None:
    inbound.connect_local_number(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    state = handler(PhoneLineState, "load", world, "y", path=f"/dashboard/settings?business={world.biz['x'].id}")
    assert (state.business_id, state.number) == (0, "")
    admin = handler(PhoneLineState, "load", world, "admin", path=f"/dashboard/settings?business={world.biz['x'].id}")
    assert admin.number == world.business("x").inbound_number  # an admin may look


def test_the_services_refuse_whoever_does_not_manage_the_business(world: World) -> None:
    x = world.biz["x"].id
    for actor, refusal in (("anonymous", NotLoggedIn), ("consumer", NotAllowed), ("y", NotAllowed)):
        for attempt in (
            lambda u: inbound.connect_local_number(world.s, u, x),
            lambda u: inbound.disconnect_number(world.s, u, x),
            lambda u: inbound.start_simulated_call(world.s, u, x),
            lambda u: inbound.phone_line(world.s, u, x),
            lambda u: inbound.connect_twilio_number(world.s, u, x, "PN" + "0" * 32),
        ):
            with pytest.raises(refusal):
                attempt(world.user(actor))
            world.s.rollback()
    assert world.business("x").inbound_number is None
    # To an owner, another business's id and a missing one answer alike (ids reveal nothing).
    with pytest.raises(NotAllowed) as other:
        inbound.phone_line(world.s, world.user("y"), x)
    with pytest.raises(NotAllowed) as missing:
        inbound.phone_line(world.s, world.user("y"), 999_999)
    assert other.value.message == missing.value.message


def test_an_admin_may_connect_a_line_for_a_business(world: World) -> None:
    state = handler(PhoneLineState, "connect_local", world, "admin", business_id=world.biz["x"].id)
    assert state.error == "" and world.business("x").inbound_number == state.number
    events = world.s.exec(select(AuditEvent).where(AuditEvent.action == "business.inbound_connect")).all()
    assert [e.actor_id for e in events] == [world.users["admin"].id]


def test_a_number_cannot_be_taken_from_another_business(world: World) -> None:
    inbound.connect_local_number(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    taken = world.business("x").inbound_number
    # Y writes X's number straight into its row (as a buggy or hostile code path would): the database refuses.
    y = world.business("y")
    y.inbound_number = taken
    world.s.add(y)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        world.s.commit()
    world.s.rollback()
    assert world.business("y").inbound_number is None


def test_a_simulated_call_cannot_be_rung_on_a_line_that_is_not_local_or_repeated(world: World) -> None:
    with pytest.raises(UserError, match="Connect the local number first"):
        inbound.start_simulated_call(world.s, world.user("x"), world.biz["x"].id)
    world.s.rollback()
    inbound.connect_local_number(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    inbound.start_simulated_call(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    for _ in range(3):  # hammering the button rings once
        state = handler(PhoneLineState, "simulate_call", world, "x", business_id=world.biz["x"].id)
        assert "already running" in state.error
    assert len(world.s.exec(select(Call)).all()) == 1


def test_the_inbound_status_webhook_needs_twilios_signature(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from voice_bridge.app import app

    token, public = "twilio-token-for-attacks", "https://voice.example.test"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    monkeypatch.setenv("VOICE_BRIDGE_PUBLIC_URL", public)
    clear_app_caches()
    inbound.connect_local_number(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    call_id = inbound.start_simulated_call(world.s, world.user("x"), world.biz["x"].id)
    world.s.commit()
    sid = world.s.get(Call, call_id).provider_call_sid
    fields = {"CallSid": sid, "CallStatus": "failed", "CallDuration": "600"}
    client = TestClient(app)
    forged = {
        "no signature": {},
        "wrong token": {"X-Twilio-Signature": RequestValidator("guess").compute_signature(public + "/x", fields)},
        "signed for another url": {
            "X-Twilio-Signature": RequestValidator(token).compute_signature(public + "/twilio/calls/1/status", fields)
        },
    }
    for headers in forged.values():
        answer = client.post("/twilio/inbound/status", data=fields, headers=headers)
        assert answer.status_code == 403
    world.s.expire_all()
    call = world.s.get(Call, call_id)
    assert (call.status, call.duration_seconds, call.outcome) == ("in_progress", None, None)
    signed = RequestValidator(token).compute_signature(public + "/twilio/inbound/status", fields)
    assert client.post("/twilio/inbound/status", data=fields, headers={"X-Twilio-Signature": signed}).status_code == 204
    world.s.expire_all()
    assert world.s.get(Call, call_id).status == "failed"  # the genuine one counts


# --- called-in leads ----------------------------------------------------------------------------------


def called_in_lead(world: World, monkeypatch: pytest.MonkeyPatch, business: str = "x") -> Match:
    """A lead from a call to `business`'s number, through intake and the pipeline (nothing sent)."""
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    [match] = factories.matched_lead(
        world.s,
        Submission(
            text="Phone call to the business. The kitchen sink is leaking under the cabinet and the shutoff "
            "valve is stuck, please send a plumber tomorrow, budget about $300",
            zip="46032",
            phone="(317) 846-2200",
            preferred_contact="phone",
            source="phone",
            business_id=world.biz[business].id,
            idempotency_key=f"inbound-call-test-{next(_serial)}",
        ),
    )
    return match


def test_only_the_called_business_can_release_its_lead(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    own = called_in_lead(world, monkeypatch)
    assert own.business_id == world.biz["x"].id
    detail = {"match_id": str(own.id), "lead_id": str(own.lead_id)}
    for attacker in ("y", "consumer", "anonymous"):
        state = handler(DashboardState, "release", world, attacker, detail=detail)
        assert state.error or attacker == "anonymous"
        world.s.expire_all()
        lead = world.s.get(Lead, own.lead_id)
        assert (lead.released_at, lead.status) == (None, "matched")
        assert [m.business_id for m in world.s.exec(select(Match).where(Match.lead_id == lead.id))] == [own.business_id]


def test_a_marketplace_lead_cannot_be_released_to_take_it_from_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    matches = factories.matched_lead(
        world.s,
        Submission(
            text="The kitchen sink is leaking under the cabinet and the shutoff valve is stuck, please send "
            "a plumber tomorrow",
            zip="46032",
            email="casey@example.com",
        ),
    )
    [own] = [m for m in matches if m.business_id == world.biz["x"].id]
    with pytest.raises(UserError, match="Only a lead from a call to your own number"):
        inbound.release_lead(world.s, world.user("x"), own.id)
    world.s.rollback()
    assert world.s.get(Lead, own.lead_id).released_at is None


def test_an_accepted_called_in_lead_stays_with_its_business(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    own = called_in_lead(world, monkeypatch)
    from leadapp.core.services import inbox

    inbox.respond(world.s, world.user("x"), own.id, accept=True)
    world.s.commit()
    with pytest.raises(UserError, match="You accepted this lead"):
        inbound.release_lead(world.s, world.user("x"), own.id)
    world.s.rollback()
    world.s.expire_all()
    assert world.s.get(Lead, own.lead_id).released_at is None


# --- ratings ------------------------------------------------------------------------------------------


def settings_form(world: World, actor: str) -> dict[str, str]:
    state = handler(BusinessSettingsState, "load", world, actor)
    form = dict(state.values)
    for item in state.checked:
        name, _, value = item.partition(":")
        form[name] = value or "on"
    return form


def test_an_owner_cannot_rate_itself_through_the_settings_form(world: World) -> None:
    form = settings_form(world, "x")
    form.update({"rating": "5", "review_count": "5000", "name": "X Plumbing & Heating"})
    state = handler(BusinessSettingsState, "save", world, "x", form, business_id=world.biz["x"].id)
    assert state.errors == {} and state.saved  # the rest of the form is saved ...
    business = world.business("x")
    assert business.name == "X Plumbing & Heating"
    assert (business.rating, business.review_count) == (3.1, 7)  # ... the rating is not the owner's to set


@pytest.mark.parametrize("attacker", ["x", "y", "consumer", "anonymous"])
def test_only_admins_set_ratings(world: World, attacker: str) -> None:
    form = {"business_id": str(world.biz["x"].id), "rating": "5", "review_count": "900"}
    state = handler(BusinessesState, "set_rating", world, attacker, form)
    assert state.notice == "" and state.rows == []
    assert (world.business("x").rating, world.business("x").review_count) == (3.1, 7)
    with pytest.raises(NotAllowed):
        moderation.set_business_rating(world.s, world.user(attacker), world.biz["x"].id, "5", "900")
    world.s.rollback()


def test_an_admin_sets_a_rating_with_its_review_count_and_bad_values_change_nothing(world: World) -> None:
    x = str(world.biz["x"].id)
    for rating, reviews, field in (
        ("5.5", "10", "rating"),
        ("nan", "10", "rating"),
        ("inf", "10", "rating"),
        ("4.5", "-3", "review_count"),
        ("4.5", "1e9", "review_count"),
        ("4.5", "0", "review_count"),  # a rating nobody gave
        ("0", "12", "rating"),
    ):
        state = handler(
            BusinessesState, "set_rating", world, "admin", {"business_id": x, "rating": rating, "review_count": reviews}
        )
        assert state.error, (rating, reviews)
        with pytest.raises(moderation.RatingInvalid) as caught:
            moderation.set_business_rating(world.s, world.user("admin"), int(x), rating, reviews)
        assert field in caught.value.errors
        world.s.rollback()
        assert (world.business("x").rating, world.business("x").review_count) == (3.1, 7)
    state = handler(
        BusinessesState, "set_rating", world, "admin", {"business_id": x, "rating": "4.64", "review_count": "52"}
    )
    assert state.error == "" and "4.6" in state.notice
    assert (world.business("x").rating, world.business("x").review_count) == (4.6, 52)
    events = world.s.exec(select(AuditEvent).where(AuditEvent.action == "business.rating")).all()
    assert [(e.before, e.after) for e in events] == [
        ({"rating": 3.1, "review_count": 7}, {"rating": 4.6, "review_count": 52})
    ]
