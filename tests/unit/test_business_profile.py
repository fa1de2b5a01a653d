"""Business profiles: every validation rule names its field; create → update → pause/resume, each audited;
only the business's owner or an admin may read or change it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Business, User
from leadapp.core.services import accounts, businesses
from leadapp.core.services.access import NotLoggedIn, can_manage_business
from leadapp.core.services.businesses import ProfileInput, ProfileInvalid, validate_profile

PASSWORD = "a long enough password"


def profile(**changes) -> ProfileInput:
    base = ProfileInput(
        name="Carmel Plumbing Co",
        categories=["plumbing", "appliance_repair"],
        address="1 Civic Sq",
        zip="46032",
        radius_miles="30",
        years_in_business="14",
        price_tier="standard",
        licensed=True,
        insured=True,
        emergency_service=False,
        tags="water heaters, leak repair, 24/7",
        notify_email="Office@Carmel-Plumbing.example",
        notify_phone="(317) 846-2200",
        notify_channels=["email", "sms"],
        hours={"mon": "9:00-17:00", "tue": "09:00 - 17:30", "sun": "Closed", "sat": ""},
        voice="coral",
        call_objective_notes="Ask about the water heater's age and whether there is standing water.",
        monthly_lead_cap="40",
    )
    return dataclasses.replace(base, **changes)


def errors_of(data: ProfileInput, owner_email: str = "owner@example.com") -> dict[str, str]:
    with pytest.raises(ProfileInvalid) as caught:
        validate_profile(data, owner_email=owner_email)
    assert caught.value.status_code == 422
    return caught.value.errors


# --- validation (pure) ----------------------------------------------------------------------------


def test_a_good_profile_is_cleaned_and_the_zip_fills_the_place():
    values = validate_profile(profile(name="  Carmel   Plumbing Co ", categories=["plumbing", "plumbing", "hvac"]))
    assert values["name"] == "Carmel Plumbing Co"
    assert values["categories"] == ["plumbing", "hvac"]
    assert (values["zip"], values["city"], values["state"]) == ("46032", "Carmel", "IN")
    assert values["latitude"] == pytest.approx(39.9712)
    assert values["longitude"] == pytest.approx(-86.1245)
    assert values["notify_phone"] == "+13178462200"
    assert values["notify_email"] == "Office@carmel-plumbing.example"
    assert values["notify_channels"] == ["email", "sms"]
    assert values["tags"] == ["water heaters", "leak repair", "24/7"]
    assert values["hours"] == {"mon": "09:00-17:00", "tue": "09:00-17:30", "sun": "closed"}
    assert (values["radius_miles"], values["years_in_business"]) == (30.0, 14)
    assert "rating" not in values and "review_count" not in values  # admins set them, never the owner's form
    assert (values["voice"], values["monthly_lead_cap"]) == ("coral", 40)
    assert "plan" not in values  # admins change plans, never the owner's form
    assert (values["licensed"], values["insured"], values["emergency_service"]) == (True, True, False)
    assert set(values) == set(businesses.PROFILE_FIELDS)


def test_limits_are_inclusive():
    validate_profile(
        profile(
            name="n" * 200,
            radius_miles="1",
            years_in_business="200",
            monthly_lead_cap="10000",
            tags=", ".join(f"{i:02d}" + "t" * 38 for i in range(20)),
            call_objective_notes="x" * 4000,
            address="a" * 300,
            hours={"mon": "00:00-24:00"},
        )
    )
    validate_profile(profile(radius_miles="200", years_in_business="0", monthly_lead_cap="1"))


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"name": ""}, "name", "Enter your business name"),
        ({"name": "   "}, "name", "Enter your business name"),
        ({"name": "n" * 201}, "name", "at most 200"),
        ({"categories": []}, "categories", "at least one service category"),
        ({"categories": ["plumbing", "astrology"]}, "categories", "Unknown service category: astrology"),
        ({"address": "a" * 301}, "address", "at most 300"),
        ({"zip": ""}, "zip", "5-digit"),
        ({"zip": "4603"}, "zip", "5-digit"),
        ({"zip": "46032-1234"}, "zip", "5-digit"),
        ({"zip": "٤٦٠٣٢"}, "zip", "5-digit"),  # Arabic-Indic digits are not ASCII digits
        ({"zip": "00000"}, "zip", "don't know the ZIP code 00000"),
        ({"radius_miles": "0.5"}, "radius_miles", "from 1 to 200 miles"),
        ({"radius_miles": "201"}, "radius_miles", "from 1 to 200 miles"),
        ({"radius_miles": "far"}, "radius_miles", "from 1 to 200 miles"),
        ({"radius_miles": "nan"}, "radius_miles", "from 1 to 200 miles"),
        ({"radius_miles": ""}, "radius_miles", "from 1 to 200 miles"),
        ({"years_in_business": "201"}, "years_in_business", "from 0 to 200"),
        ({"years_in_business": "-1"}, "years_in_business", "from 0 to 200"),
        ({"years_in_business": "2.5"}, "years_in_business", "whole years"),
        ({"price_tier": "luxury"}, "price_tier", "budget, standard or premium"),
        ({"tags": ", ".join(f"tag{i}" for i in range(21))}, "tags", "at most 20 tags"),
        ({"tags": "ok, " + "t" * 41}, "tags", "40 characters"),
        ({"notify_email": "office@"}, "notify_email", "valid email"),
        ({"notify_phone": "555-1234"}, "notify_phone", "valid phone"),
        ({"notify_phone": "12"}, "notify_phone", "valid phone"),
        ({"notify_channels": []}, "notify_channels", "at least one way"),
        ({"notify_channels": ["email", "fax"]}, "notify_channels", "email and/or text message"),
        ({"notify_channels": ["sms"], "notify_phone": ""}, "notify_phone", "mobile number"),
        ({"hours": {"mon": "9 to 5"}}, "hours_mon", "09:00-17:00"),
        ({"hours": {"tue": "17:00-09:00"}}, "hours_tue", "closing after opening"),
        ({"hours": {"wed": "09:00-09:00"}}, "hours_wed", "closing after opening"),
        ({"hours": {"thu": "25:00-26:00"}}, "hours_thu", "09:00-17:00"),
        ({"hours": {"fri": "09:60-17:00"}}, "hours_fri", "09:00-17:00"),
        ({"hours": {"sat": "09:00-24:01"}}, "hours_sat", "09:00-17:00"),
        ({"hours": {"sun": "open"}}, "hours_sun", "09:00-17:00"),
        ({"hours": {"funday": "closed"}}, "hours", "Unknown weekday"),
        ({"voice": "robot"}, "voice", "offered voices"),
        ({"voice": ""}, "voice", "offered voices"),
        ({"languages": []}, "languages", "at least one language you serve"),
        ({"languages": ["en", "fr"]}, "languages", "English and/or Spanish"),
        ({"call_objective_notes": "x" * 4001}, "call_objective_notes", "under 4000"),
        ({"monthly_lead_cap": "0"}, "monthly_lead_cap", "from 1 to 10,000"),
        ({"monthly_lead_cap": "10001"}, "monthly_lead_cap", "from 1 to 10,000"),
        ({"monthly_lead_cap": "12.5"}, "monthly_lead_cap", "whole number"),
    ],
)
def test_each_rule_names_its_field(changes: dict, field: str, fragment: str):
    errors = errors_of(profile(**changes))
    assert list(errors) == [field], errors
    assert fragment in errors[field]


def test_an_owner_serves_english_by_default_and_may_add_or_choose_spanish():
    assert validate_profile(profile())["languages"] == ["en"]
    assert validate_profile(profile(languages=[" ES ", "en", "es"]))["languages"] == ["en", "es"]
    assert validate_profile(profile(languages=["es"]))["languages"] == ["es"]


def test_every_bad_field_is_reported_at_once():
    errors = errors_of(profile(name="", zip="1", radius_miles="0", hours={"mon": "x", "fri": "y"}))
    assert set(errors) == {"name", "zip", "radius_miles", "hours_mon", "hours_fri"}


def test_email_notifications_fall_back_to_the_owners_account_email():
    values = validate_profile(profile(notify_email="", notify_channels=["email"]), owner_email="me@example.com")
    assert values["notify_email"] == ""  # notify sends to the account address then
    errors = errors_of(profile(notify_email="", notify_channels=["email"]), owner_email="")
    assert list(errors) == ["notify_email"]
    assert "email address to get leads by email" in errors["notify_email"]


def test_text_messages_only_need_a_phone_and_a_bad_phone_is_reported_once():
    values = validate_profile(profile(notify_email="", notify_channels=["sms"]), owner_email="")
    assert values["notify_channels"] == ["sms"]
    errors = errors_of(profile(notify_phone="not a phone", notify_channels=["sms"]))
    assert errors == {"notify_phone": "Enter a valid phone number, e.g. (317) 846-2200."}


_TEXT_FIELDS = [f.name for f in dataclasses.fields(ProfileInput) if f.type == "str"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(st.sampled_from(_TEXT_FIELDS), st.text(max_size=60)),
    st.lists(st.text(max_size=20), max_size=4),
    st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=3),
)
def test_any_input_is_either_accepted_or_refused_with_field_messages(texts, categories, hours):
    try:
        values = validate_profile(profile(**texts, categories=categories, hours=hours))
    except ProfileInvalid as exc:
        assert exc.errors and all(isinstance(m, str) and m for m in exc.errors.values())
    else:
        assert values["categories"] and values["zip"].isdigit()


# --- the access function --------------------------------------------------------------------------


def _user(user_id: int, role: str, active: bool = True) -> User:
    return User(id=user_id, email=f"u{user_id}@example.com", password_hash="x", role=role, is_active=active)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (None, False),
        (_user(1, "business_owner"), True),
        (_user(1, "business_owner", active=False), False),
        (_user(2, "business_owner"), False),
        (_user(1, "consumer"), False),  # same id as the owner, but not an owner account
        (_user(3, "admin"), True),
        (_user(3, "admin", active=False), False),
    ],
)
def test_can_manage_business(user: User | None, allowed: bool):
    assert can_manage_business(user, Business(id=7, owner_id=1, name="B", zip="46032")) is allowed
    assert can_manage_business(user, None) is False


# --- services on the database (SQLite and PostgreSQL) ---------------------------------------------


def _register(session: Session, email: str, role: str = "business_owner") -> User:
    user = accounts.register(session, email, PASSWORD, role)
    session.commit()
    return user


def _admin(session: Session) -> User:
    admin = User(email="admin@example.com", password_hash="x", role="admin")
    session.add(admin)
    session.commit()
    return admin


def _events(session: Session, business_id: int) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.target_type == "businesses", AuditEvent.target_id == str(business_id))
            .order_by(AuditEvent.id)
        ).all()
    )


def test_create_update_pause_resume_each_audited(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    assert businesses.my_business(db_session, owner) is None

    business = businesses.create_business(db_session, owner, profile())
    db_session.commit()
    assert business.owner_id == owner.id
    assert (business.city, business.state, business.zip) == ("Carmel", "IN", "46032")
    assert business.latitude == pytest.approx(39.9712) and business.longitude == pytest.approx(-86.1245)
    assert business.notify_phone == "+13178462200"
    assert business.paused is False
    assert businesses.my_business(db_session, owner).id == business.id

    changed = businesses.update_business(
        db_session, owner, business.id, profile(zip="10001", voice="sage", tags="leak repair")
    )
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Business, business.id)
    assert (stored.zip, stored.city, stored.state, stored.voice) == ("10001", "New York", "NY", "sage")
    assert stored.tags == ["leak repair"]
    assert stored.latitude == pytest.approx(float(changed.latitude))

    businesses.set_paused(db_session, owner, business.id, True)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Business, business.id).paused is True
    businesses.set_paused(db_session, owner, business.id, False)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(Business, business.id).paused is False

    events = _events(db_session, business.id)
    assert [e.action for e in events] == ["business.create", "business.update", "business.pause", "business.resume"]
    assert all(e.actor_id == owner.id for e in events)
    created, updated, paused, resumed = events
    assert created.before is None
    assert created.after["name"] == "Carmel Plumbing Co" and created.after["city"] == "Carmel"
    # Only what changed is recorded, with its old and new values.
    moved = {"zip", "city", "state", "latitude", "longitude"}
    assert set(updated.before) == set(updated.after) == moved | {"voice", "tags"}
    assert (updated.before["zip"], updated.after["zip"]) == ("46032", "10001")
    assert (updated.before["city"], updated.after["city"]) == ("Carmel", "New York")
    assert (updated.before["voice"], updated.after["voice"]) == ("coral", "sage")
    assert updated.before["tags"] == ["water heaters", "leak repair", "24/7"]
    assert updated.after["tags"] == ["leak repair"]
    assert (paused.before, paused.after) == ({"paused": False}, {"paused": True})
    assert (resumed.before, resumed.after) == ({"paused": True}, {"paused": False})


def test_saving_an_unchanged_profile_or_pause_state_writes_no_audit_event(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, owner, profile())
    db_session.commit()
    same = ProfileInput.from_business(business)
    businesses.update_business(db_session, owner, business.id, same)
    businesses.set_paused(db_session, owner, business.id, False)
    db_session.commit()
    assert [e.action for e in _events(db_session, business.id)] == ["business.create"]


def test_a_saved_business_shows_in_the_form_as_it_was_entered(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, owner, profile())
    db_session.commit()
    shown = ProfileInput.from_business(business)
    assert shown.hours == {
        "mon": "09:00-17:00",
        "tue": "09:00-17:30",
        "wed": "",
        "thu": "",
        "fri": "",
        "sat": "",
        "sun": "closed",
    }
    assert (shown.tags, shown.radius_miles) == ("water heaters, leak repair, 24/7", "30")
    assert validate_profile(shown, owner_email=owner.email) == {
        name: getattr(business, name) for name in businesses.PROFILE_FIELDS
    }


def test_an_invalid_update_changes_nothing(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, owner, profile())
    db_session.commit()
    with pytest.raises(ProfileInvalid) as caught:
        businesses.update_business(db_session, owner, business.id, profile(name="Renamed", zip="00000"))
    db_session.rollback()
    assert caught.value.errors == {"zip": "We don't know the ZIP code 00000."}
    db_session.expire_all()
    assert db_session.get(Business, business.id).name == "Carmel Plumbing Co"
    assert len(_events(db_session, business.id)) == 1


def test_an_invalid_first_profile_creates_nothing(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    with pytest.raises(ProfileInvalid):
        businesses.create_business(db_session, owner, profile(categories=[]))
    db_session.rollback()
    assert businesses.my_business(db_session, owner) is None


def test_an_owner_cannot_register_a_second_business(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    businesses.create_business(db_session, owner, profile())
    db_session.commit()
    with pytest.raises(UserError) as caught:
        businesses.create_business(db_session, owner, profile(name="Second Shop"))
    db_session.rollback()
    assert caught.value.field == "form"
    assert "already has a business (“Carmel Plumbing Co”)" in caught.value.message
    count = len(db_session.exec(select(Business).where(Business.owner_id == owner.id)).all())
    assert count == 1


def test_only_business_owner_accounts_create_businesses(db_session: Session):
    consumer = _register(db_session, "casey@example.com", role="consumer")
    admin = _admin(db_session)
    with pytest.raises(NotAllowed) as caught:
        businesses.create_business(db_session, consumer, profile())
    assert type(caught.value) is NotAllowed
    with pytest.raises(NotAllowed, match="Only a business owner"):
        businesses.create_business(db_session, admin, profile())
    with pytest.raises(NotLoggedIn):
        businesses.create_business(db_session, None, profile())
    db_session.rollback()
    assert db_session.exec(select(Business)).all() == []


def test_my_business_is_only_ever_the_users_own(db_session: Session):
    pat = _register(db_session, "pat@example.com")
    eve = _register(db_session, "eve@example.com")
    consumer = _register(db_session, "casey@example.com", role="consumer")
    mine = businesses.create_business(db_session, pat, profile())
    db_session.commit()
    assert businesses.my_business(db_session, pat).id == mine.id
    assert businesses.my_business(db_session, eve) is None
    with pytest.raises(NotAllowed) as caught:
        businesses.my_business(db_session, consumer)
    assert type(caught.value) is NotAllowed
    with pytest.raises(NotLoggedIn):
        businesses.my_business(db_session, None)


@pytest.mark.parametrize("who", ["other_owner", "consumer", "anonymous", "disabled_owner"])
def test_nobody_else_may_read_update_or_pause_a_business(db_session: Session, who: str):
    pat = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, pat, profile())
    db_session.commit()
    actors = {
        "other_owner": _register(db_session, "eve@example.com"),
        "consumer": _register(db_session, "casey@example.com", role="consumer"),
        "anonymous": None,
    }
    if who == "disabled_owner":
        pat.is_active = False
        db_session.add(pat)
        db_session.commit()
        actor = pat
    else:
        actor = actors[who]
    expected = NotLoggedIn if who in ("anonymous", "disabled_owner") else NotAllowed

    attempts = [
        lambda: businesses.get_business(db_session, actor, business.id),
        lambda: businesses.update_business(db_session, actor, business.id, profile(name="Hijacked")),
        lambda: businesses.set_paused(db_session, actor, business.id, True),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed) as caught:
            attempt()
        assert type(caught.value) is expected
        db_session.rollback()

    db_session.expire_all()
    stored = db_session.get(Business, business.id)
    assert (stored.name, stored.paused) == ("Carmel Plumbing Co", False)
    assert [e.action for e in _events(db_session, business.id)] == ["business.create"]


def test_a_missing_business_answers_like_someone_elses_except_to_admins(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    admin = _admin(db_session)
    with pytest.raises(NotAllowed, match="your own business") as caught:
        businesses.update_business(db_session, owner, 999_999, profile())
    assert type(caught.value) is NotAllowed
    with pytest.raises(NotFound):
        businesses.set_paused(db_session, admin, 999_999, True)


def test_an_admin_may_update_and_pause_any_business_and_is_the_audited_actor(db_session: Session):
    pat = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, pat, profile(notify_email="", notify_channels=["email"]))
    db_session.commit()
    admin = _admin(db_session)

    assert businesses.get_business(db_session, admin, business.id).id == business.id
    # The owner's account email still backs email notifications when an admin edits the profile.
    businesses.update_business(
        db_session, admin, business.id, profile(notify_email="", notify_channels=["email"], monthly_lead_cap="500")
    )
    businesses.set_paused(db_session, admin, business.id, True)
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Business, business.id)
    assert (stored.monthly_lead_cap, stored.paused, stored.owner_id) == (500, True, pat.id)
    update, pause = _events(db_session, business.id)[1:]
    assert (update.action, update.actor_id, update.before, update.after) == (
        "business.update",
        admin.id,
        {"monthly_lead_cap": 40},
        {"monthly_lead_cap": 500},
    )
    assert (pause.action, pause.actor_id) == ("business.pause", admin.id)


# --- the settings form's data ---------------------------------------------------------------------


def test_the_settings_form_sends_checked_boxes_as_lists():
    import reflex as rx

    from leadapp.pages.business.settings import profile_from_form

    form = rx.form.FormData(
        [
            ("name", "Shop"),
            ("categories", "plumbing"),
            ("categories", "hvac"),
            ("notify_channels", "sms"),
            ("insured", "on"),
            ("zip", "46032"),
            ("hours_mon", "09:00-17:00"),
            ("voice", "ash"),
            ("languages", "en"),
            ("languages", "es"),
        ]
    )
    data = profile_from_form(form)
    assert data.languages == ["en", "es"]
    assert data.categories == ["plumbing", "hvac"]
    assert data.notify_channels == ["sms"]
    assert (data.insured, data.licensed, data.emergency_service) == (True, False, False)
    assert data.hours["mon"] == "09:00-17:00" and data.hours["tue"] == ""
    assert (data.name, data.zip, data.voice) == ("Shop", "46032", "ash")
    assert not hasattr(data, "plan")


# --- what only admins set (issue 11, item 6) --------------------------------------------------------


def test_a_registered_business_waits_for_verification_on_the_free_plan(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    business = businesses.create_business(db_session, owner, profile())
    db_session.commit()
    assert (business.verified_at, business.plan) == (None, "free")


def test_an_owner_sets_the_lead_cap_up_to_the_plan_and_keeps_a_cap_an_admin_raised(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    with pytest.raises(ProfileInvalid) as caught:
        businesses.create_business(db_session, owner, profile(monthly_lead_cap="51"))
    assert "from 1 to 50" in caught.value.errors["monthly_lead_cap"]
    db_session.rollback()
    business = businesses.create_business(db_session, owner, profile(monthly_lead_cap="50"))
    db_session.commit()
    with pytest.raises(ProfileInvalid):
        businesses.update_business(db_session, owner, business.id, profile(monthly_lead_cap="5000"))
    db_session.rollback()
    business = db_session.get(Business, business.id)
    business.monthly_lead_cap = 5000  # an admin's cap beyond the plan
    db_session.add(business)
    db_session.commit()
    businesses.update_business(db_session, owner, business.id, profile(name="Renamed", monthly_lead_cap="5000"))
    db_session.commit()
    assert db_session.get(Business, business.id).monthly_lead_cap == 5000


def test_the_service_radius_is_capped_by_the_platform_rules(db_session: Session):
    owner = _register(db_session, "pat@example.com")
    with pytest.raises(ProfileInvalid) as caught:
        businesses.create_business(db_session, owner, profile(radius_miles="150"))
    assert caught.value.errors["radius_miles"] == "Enter a service radius from 1 to 100 miles."
    db_session.rollback()
    assert businesses.create_business(db_session, owner, profile(radius_miles="100")).radius_miles == 100
