"""Platform rules administration, on SQLite and PostgreSQL: every field validated with its own message,
each save a new audited version, a readable diff per version, rollback as a new version, admins only,
and the classifier and the matcher following the newest version from the very next lead."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import FieldErrors, NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Business, Lead, Match, PlatformRules, User, utcnow
from leadapp.core.services import intake, pipeline
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.services.match import zip_centroid
from leadapp.core.services.rules import (
    DEFAULT_RULES,
    current_rules,
    diff,
    rollback,
    rules_from_form,
    rules_history,
    rules_to_form,
    save_rules,
    validate_rules,
)
from leadapp.core.vocab import LeadStatus
from leadapp.pages.admin.rules import RulesState
from tests import factories

PASSWORD = "a long enough password"


def form(**changes: str) -> dict[str, str]:
    """The rules form as the page fills it for the defaults, with `changes` typed over it."""
    return {**rules_to_form(DEFAULT_RULES), **changes}


def errors_of(values: dict[str, str]) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        rules_from_form(values, DEFAULT_RULES)
    assert caught.value.status_code == 422
    return caught.value.errors


# --- validation (pure) ----------------------------------------------------------------------------


def test_the_defaults_are_valid_and_survive_the_form_unchanged():
    assert validate_rules(DEFAULT_RULES) == DEFAULT_RULES
    assert rules_from_form(form(), DEFAULT_RULES) == DEFAULT_RULES


def test_the_form_sets_the_routing_and_refuses_a_routing_out_of_range():
    rules = rules_from_form(form(routing_mode="waterfall", wave_size="4", wave_minutes="15"), DEFAULT_RULES)
    assert rules["routing"] == {"mode": "waterfall", "wave_size": 4, "wave_minutes": 15}
    assert rules_to_form(rules)["routing_mode"] == "waterfall"
    assert set(errors_of(form(routing_mode="everyone", wave_size="0", wave_minutes="2.5"))) == {
        "routing_mode",
        "wave_size",
        "wave_minutes",
    }


def test_the_form_turns_the_automatic_calls_on_and_refuses_what_is_not_on_or_off():
    rules = rules_from_form(form(auto_follow_up="on", follow_up_days="10"), DEFAULT_RULES)
    assert rules["auto_calls"] == {"confirm_appointment": False, "follow_up": True, "follow_up_days": 10}
    assert rules_to_form(rules)["auto_follow_up"] == "on"
    assert rules_to_form(rules)["auto_confirm_appointment"] == "off"
    assert "Automatic follow-up calls: off → on" in " ".join(diff(DEFAULT_RULES, rules))
    assert set(errors_of(form(auto_confirm_appointment="yes please", follow_up_days="0"))) == {
        "auto_confirm_appointment",
        "follow_up_days",
    }


def test_the_form_cleans_what_it_accepts():
    rules = rules_from_form(
        form(
            spam_keywords="  Free   MONEY \n\ncrypto\nfree money\n",
            blocked_phone_patterns="^\\+1317555\\d{4}$\n\n",
            min_words="12",
            flag_below="2.5",
            low_quality_below="4",
            seasonal_boosts="jul:hvac:5\n 7 : Pool Spa : 1.5\nDecember:plumbing:-2",
            weight_distance="25",
            weight_price="12.5",
            min_score="45",
            max_matches="5",
        ),
        DEFAULT_RULES,
    )
    assert rules["spam_keywords"] == ["free money", "crypto"]
    assert rules["blocked_phone_patterns"] == ["^\\+1317555\\d{4}$"]
    assert rules["min_words"] == 12
    assert (rules["quality"]["flag_below"], rules["quality"]["low_quality_below"]) == (2.5, 4)
    # Settings the form does not show are kept from the base rules.
    assert rules["quality"]["spam_penalty"] == DEFAULT_RULES["quality"]["spam_penalty"]
    assert rules["seasonal_boosts"] == {"7": {"hvac": 5, "pool_spa": 1.5}, "12": {"plumbing": -2}}
    assert rules["matching"]["weights"]["distance"] == 25
    assert rules["matching"]["weights"]["price"] == 12.5
    assert (rules["matching"]["min_score"], rules["matching"]["max_matches"]) == (45, 5)


def test_every_wrong_field_gets_its_own_message_in_the_forms_order():
    errors = errors_of(
        form(
            spam_keywords="crypto\n!!!",
            blocked_phone_patterns="^\\+1317\n[0-9",
            min_words="ten",
            flag_below="11",
            low_quality_below="4",
            seasonal_boosts="7:hvac",
            weight_distance="51",
            weight_rating="-1",
            min_score="101",
            max_matches="2.5",
        )
    )
    assert errors == {
        "spam_keywords": "'!!!' has no letter or digit.",
        "blocked_phone_patterns": "'[0-9' is not a valid regular expression: unterminated character set at position 0.",
        "min_words": "Enter a whole number from 1 to 100.",
        "flag_below": "Enter a number from 0 to 10.",
        "seasonal_boosts": "Line 1: write month:category:points, e.g. 7:hvac:3.",
        "weight_distance": "Enter a number from 0 to 50.",
        "weight_rating": "Enter a number from 0 to 50.",
        "min_score": "Enter a number from 0 to 100.",
        "max_matches": "Enter a whole number from 1 to 50.",
    }
    assert list(errors) == [
        "spam_keywords",
        "blocked_phone_patterns",
        "min_words",
        "flag_below",
        "seasonal_boosts",
        "weight_distance",
        "weight_rating",
        "min_score",
        "max_matches",
    ]


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("spam_keywords", "x" * 61, f"'{'x' * 30}…' is longer than 60 characters."),
        ("spam_keywords", "\n".join(f"word{i}" for i in range(201)), "At most 200 spam keywords."),
        ("blocked_phone_patterns", ".*", "'.*' would block every phone number."),
        ("blocked_phone_patterns", "\\d", "'\\d' would block every phone number."),
        ("blocked_phone_patterns", "^\\+?\\d*$", "'^\\+?\\d*$' would block every phone number."),
        (
            "blocked_phone_patterns",
            "(",
            "'(' is not a valid regular expression: missing ), unterminated subpattern at position 0.",
        ),
        ("min_words", "0", "Enter a whole number from 1 to 100."),
        ("min_words", "10.5", "Enter a whole number from 1 to 100."),
        ("min_words", "", "Enter a whole number from 1 to 100."),
        ("low_quality_below", "nan", "Enter a number from 0 to 10."),
        ("flag_below", "6", "The auto-flag threshold cannot be above the low-quality threshold."),
        ("seasonal_boosts", "13:hvac:2", "Line 1: '13' is not a month (1 to 12)."),
        (
            "seasonal_boosts",
            "7:hvac:2\n7:spaceships:2",
            "Line 2: unknown category 'spaceships' (e.g. hvac, plumbing, pool_spa).",
        ),
        ("seasonal_boosts", "7:hvac:2\njuly:hvac:3", "Line 2: 7:hvac is listed twice."),
        ("seasonal_boosts", "7:hvac:21", "July hvac: points must be a number from -20 to 20."),
        ("seasonal_boosts", "7:hvac:lots", "July hvac: points must be a number from -20 to 20."),
        ("weight_urgency", "x", "Enter a number from 0 to 50."),
        ("max_matches", "0", "Enter a whole number from 1 to 50."),
    ],
)
def test_each_field_explains_what_is_wrong(field: str, typed: str, message: str):
    assert errors_of(form(**{field: typed})) == {field: message}


def test_all_weights_at_zero_is_refused():
    zeros = {name: "0" for name in form() if name.startswith("weight_")}
    assert errors_of(form(**zeros)) == {"weight_distance": "At least one matching weight must be above 0."}


def test_structured_rules_are_validated_too():
    bad = copy.deepcopy(DEFAULT_RULES)
    bad["min_words"] = True
    bad["seasonal_boosts"] = {"7": {"hvac": 3}, "0": {"hvac": 1}}
    bad["matching"]["weights"]["price"] = float("inf")
    with pytest.raises(FieldErrors) as caught:
        validate_rules(bad)
    assert caught.value.errors == {
        "min_words": "Enter a whole number from 1 to 100.",
        "seasonal_boosts": "'0' is not a month (1 to 12).",
        "weight_price": "Enter a number from 0 to 50.",
    }


# --- diff (pure) ------------------------------------------------------------------------------------


def test_diff_says_what_changed_in_plain_words():
    new = rules_from_form(
        form(
            spam_keywords=form()["spam_keywords"].replace("asdf\n", "") + "\nfree money\nsure win",
            blocked_phone_patterns=form()["blocked_phone_patterns"] + "\n^\\+1317846",
            min_words="12",
            flag_below="2.5",
            seasonal_boosts=form()["seasonal_boosts"].replace("8:hvac:3", "8:hvac:4").replace("\n12:plumbing:2", "")
            + "\n3:landscaping:2",
            weight_price="12",
            min_score="45",
        ),
        DEFAULT_RULES,
    )
    assert diff(DEFAULT_RULES, new) == [
        "Spam keywords: added 'free money', 'sure win'; removed 'asdf'",
        "Blocked phone patterns: added '^\\+1317846'",
        "Minimum words: 10 → 12",
        "Auto-flag below quality: 3 → 2.5",
        "Seasonal boost, March, Landscaping: none → 2",
        "Seasonal boost, August, Heating & cooling (HVAC): 3 → 4",
        "Seasonal boost, December, Plumbing: 2 → none",
        "Matching weight: Price vs budget: 10 → 12",
        "Minimum match score: 50 → 45",
    ]
    assert diff(new, new) == []
    assert diff(DEFAULT_RULES, validate_rules({**DEFAULT_RULES, "min_words": 10.0})) == []


# --- versions, history, rollback (database) ---------------------------------------------------------


@dataclass
class People(factories.People):
    other_admin: User


@pytest.fixture
def people(db_session: Session) -> People:
    s = db_session
    cast = factories.people(s)
    other_admin = factories.admin(s, "second-admin@example.com")
    s.commit()
    return People(**vars(cast), other_admin=other_admin)


def rules_events(s: Session) -> list[AuditEvent]:
    return list(
        s.exec(select(AuditEvent).where(AuditEvent.action.startswith("rules.")).order_by(AuditEvent.id)).all()  # type: ignore[attr-defined]
    )


def test_each_save_is_a_new_version_with_author_note_and_audit(db_session: Session, people: People):
    s = db_session
    assert current_rules(s).version == 0
    first = save_rules(s, people.admin, rules_from_form(form(min_words="12"), DEFAULT_RULES), note=" Longer texts ")
    s.commit()
    second = save_rules(
        s, people.other_admin, rules_from_form(form(min_words="12", spam_keywords="crypto"), first.rules), note=""
    )
    s.commit()

    assert (first.version, second.version) == (1, 2)
    assert (first.note, first.created_by_id, second.created_by_id) == (
        "Longer texts",
        people.admin.id,
        people.other_admin.id,
    )
    in_force = current_rules(s)
    assert in_force.version == 2
    assert in_force.rules["spam_keywords"] == ["crypto"]
    assert in_force.rules["min_words"] == 12
    events = rules_events(s)
    assert [(e.action, e.actor_id, e.target_id) for e in events] == [
        ("rules.edit", people.admin.id, str(first.id)),
        ("rules.edit", people.other_admin.id, str(second.id)),
    ]
    assert events[0].before["version"] == 0 and events[0].before["rules"]["min_words"] == 10
    assert events[0].after["version"] == 1 and events[0].after["rules"]["min_words"] == 12
    assert events[0].after["note"] == "Longer texts"


def test_an_invalid_save_stores_nothing(db_session: Session, people: People):
    bad = copy.deepcopy(DEFAULT_RULES)
    bad["blocked_phone_patterns"] = ["[0-9"]
    with pytest.raises(FieldErrors) as caught:
        save_rules(db_session, people.admin, bad)
    assert set(caught.value.errors) == {"blocked_phone_patterns"}
    db_session.rollback()
    assert db_session.exec(select(PlatformRules)).all() == []
    assert rules_events(db_session) == []


def test_history_lists_versions_newest_first_with_each_diff(db_session: Session, people: People):
    s = db_session
    save_rules(s, people.admin, rules_from_form(form(min_words="12"), DEFAULT_RULES), note="Longer texts")
    save_rules(
        s, people.other_admin, rules_from_form(form(min_words="12", max_matches="5"), DEFAULT_RULES), note="Fewer"
    )
    s.commit()

    history = rules_history(s, people.admin)
    assert history.total == 3
    assert [(e.version, e.author, e.note, e.current) for e in history.entries] == [
        (2, "second-admin@example.com", "Fewer", True),
        (1, "admin@example.com", "Longer texts", False),
        (0, "LeadApp", "Built-in defaults", False),
    ]
    assert history.entries[0].changes == ["Maximum matches per lead: 10 → 5"]
    assert history.entries[1].changes == ["Minimum words: 10 → 12"]
    assert history.entries[0].created_at is not None

    # Paging: the oldest version on a page is still compared with the version before it.
    page = rules_history(s, people.admin, offset=1, limit=1)
    assert [(e.version, e.changes) for e in page.entries] == [(1, ["Minimum words: 10 → 12"])]
    last = rules_history(s, people.admin, offset=2, limit=5)
    assert [e.version for e in last.entries] == [0]


def test_rollback_saves_a_new_version_equal_to_the_old_one(db_session: Session, people: People):
    s = db_session
    save_rules(s, people.admin, rules_from_form(form(min_words="12"), DEFAULT_RULES), note="Longer texts")
    save_rules(s, people.admin, rules_from_form(form(min_words="15", spam_keywords="crypto"), DEFAULT_RULES))
    s.commit()

    row = rollback(s, people.other_admin, 1)
    s.commit()
    assert (row.version, row.rolled_back_from, row.note) == (3, 1, "Rolled back to version 1")
    assert current_rules(s).rules == validate_rules(
        s.exec(select(PlatformRules).where(PlatformRules.version == 1)).one().rules
    )
    assert current_rules(s).rules["min_words"] == 12
    entry = rules_history(s, people.admin).entries[0]
    assert entry.rolled_back_from == 1
    assert entry.changes == [
        "Spam keywords: added " + ", ".join(f"'{k}'" for k in DEFAULT_RULES["spam_keywords"] if k != "crypto"),
        "Minimum words: 15 → 12",
    ]
    event = rules_events(s)[-1]
    assert (event.action, event.actor_id) == ("rules.rollback", people.other_admin.id)
    assert (event.before["version"], event.after["version"]) == (2, 3)

    # Version 0 is the defaults; rolling back to it is a rollback too.
    back_to_defaults = rollback(s, people.admin, 0)
    s.commit()
    assert back_to_defaults.rolled_back_from == 0
    assert current_rules(s).rules == DEFAULT_RULES
    assert rules_events(s)[-1].action == "rules.rollback"

    with pytest.raises(UserError, match="same as the rules in force"):
        rollback(s, people.admin, 0)
    with pytest.raises(NotFound, match="no rules version 99"):
        rollback(s, people.admin, 99)


def test_each_reader_gets_its_own_copy_of_the_newest_rules(db_session: Session, people: People):
    """The rules of a version are read once per process, but a reader changing its copy changes nobody else's, and
    a version saved since is the one the next reader gets."""
    s = db_session
    save_rules(s, people.admin, rules_from_form(form(min_words="12", spam_keywords="crypto"), DEFAULT_RULES))
    s.commit()
    first = current_rules(s)
    first.rules["min_words"] = 99
    first.rules["spam_keywords"].append("changed by a reader")
    first.rules["matching"]["weights"]["distance"] = 0
    second = current_rules(s)
    assert (second.version, second.rules["min_words"], second.rules["spam_keywords"]) == (1, 12, ["crypto"])
    assert second.rules["matching"]["weights"] == DEFAULT_RULES["matching"]["weights"]

    save_rules(s, people.admin, rules_from_form(form(min_words="14"), DEFAULT_RULES))
    s.commit()
    assert (current_rules(s).version, current_rules(s).rules["min_words"]) == (2, 14)


@pytest.mark.parametrize("who", ["anonymous", "consumer", "owner", "disabled_admin"])
def test_only_active_admins_may_read_edit_or_roll_back_rules(db_session: Session, people: People, who: str):
    s = db_session
    save_rules(s, people.admin, rules_from_form(form(min_words="12"), DEFAULT_RULES))
    s.commit()
    user = None if who == "anonymous" else getattr(people, who)
    refused = NotLoggedIn if who in ("anonymous", "disabled_admin") else NotAllowed
    with pytest.raises(refused):
        save_rules(s, user, DEFAULT_RULES)
    with pytest.raises(refused):
        rollback(s, user, 0)
    with pytest.raises(refused):
        rules_history(s, user)
    s.rollback()
    assert current_rules(s).version == 1
    assert len(rules_events(s)) == 1


# --- the classifier and the matcher follow the newest version at once --------------------------------


def received_lead(s: Session, text: str, phone: str = "+13178462200") -> Lead:
    lead = factories.received_lead(s, text, phone=phone)
    s.commit()
    return lead


@pytest.fixture
def no_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})


def test_a_new_spam_keyword_applies_to_the_very_next_lead(db_session: Session, people: People, no_sending):
    s = db_session
    text = "My water heater is leaking in the garage, zorblax said you could fix it today, budget $500"
    before = received_lead(s, text)
    assert pipeline.process_lead(before.id) != LeadStatus.FLAGGED.value
    s.expire_all()
    assert s.get(Lead, before.id).is_spam is False

    row = save_rules(
        s, people.admin, rules_from_form(form(spam_keywords=form()["spam_keywords"] + "\nZorblax"), DEFAULT_RULES)
    )
    s.commit()

    after = received_lead(s, text)
    assert pipeline.process_lead(after.id) == LeadStatus.FLAGGED.value
    s.expire_all()
    lead = s.get(Lead, after.id)
    assert lead.is_spam is True
    assert "keyword 'zorblax'" in lead.spam_reason
    assert lead.rules_version == row.version
    # The same rules refuse a newly blocked number at intake, right after saving.
    save_rules(
        s,
        people.admin,
        rules_from_form(form(blocked_phone_patterns="^\\+13178462200$"), current_rules(s).rules),
    )
    s.commit()
    sub = intake.Submission(text=text, zip="46032", phone="(317) 846-2200")
    with pytest.raises(intake.SubmissionInvalid) as caught:
        intake.validate(sub, current_rules(s))
    assert "phone" in caught.value.errors


def test_new_matching_settings_apply_to_the_very_next_lead(db_session: Session, people: People, no_sending):
    s = db_session
    lat, lon = zip_centroid("46032")
    s.add(
        Business(
            verified_at=utcnow(),
            owner_id=people.owner.id,
            name="Carmel Plumbing",
            categories=["plumbing"],
            zip="46032",
            latitude=lat,
            longitude=lon,
            radius_miles=25,
            verified_review_count=20,
            verified_stars_total=70,  # a verified rating of (5 × 4 + 70) / 25 = 3.6
            plan="pro",
            monthly_lead_cap=100,
            notify_email="plumber@example.com",
        )
    )
    s.commit()
    text = "My water heater is leaking all over the garage floor, need someone licensed today, budget around $500"
    first = received_lead(s, text)
    assert pipeline.process_lead(first.id) == LeadStatus.MATCHED.value
    first_score = s.exec(select(Match.score).where(Match.lead_id == first.id)).one()

    # Doubling the rating weight (the business is rated 3.6, half marks) lowers its score out of 100.
    save_rules(s, people.admin, rules_from_form(form(weight_rating="30"), DEFAULT_RULES))
    s.commit()
    second = received_lead(s, text)
    assert pipeline.process_lead(second.id) == LeadStatus.MATCHED.value
    second_score = s.exec(select(Match.score).where(Match.lead_id == second.id)).one()
    assert second_score < first_score

    # A minimum score above it: the next lead is matched to nobody.
    save_rules(
        s, people.admin, rules_from_form(form(weight_rating="30", min_score=str(second_score + 1)), DEFAULT_RULES)
    )
    s.commit()
    third = received_lead(s, text)
    assert pipeline.process_lead(third.id) == LeadStatus.NO_MATCH.value
    s.expire_all()
    assert s.get(Lead, third.id).rules_version == 2


# --- the page's handlers ----------------------------------------------------------------------------


def page_state(s: Session, user: User | None):
    """The rules page's state for a tab logged in as `user` (None: no session cookie)."""
    return factories.tab_state(s, RulesState, user)


def test_the_page_saves_shows_errors_and_rolls_back(db_session: Session, people: People):
    s = db_session
    state = page_state(s, people.admin)
    RulesState.load.fn(state)
    assert (state.version, state.values["min_words"], state.denied) == (0, "10", False)
    assert [row.version for row in state.rows] == [0]

    RulesState.save.fn(state, {**state.values, "min_words": "0", "blocked_phone_patterns": ".*"})
    assert state.errors == {
        "blocked_phone_patterns": "'.*' would block every phone number.",
        "min_words": "Enter a whole number from 1 to 100.",
    }
    assert current_rules(s).version == 0

    RulesState.save.fn(state, {**state.values, "min_words": "12", "note": "Longer texts"})
    assert state.errors == {}
    assert state.saved_message == "Saved as version 1; it applies to the next lead."
    assert (state.version, state.values["min_words"]) == (1, "12")
    assert [(r.version, r.note, r.changes, r.current) for r in state.rows] == [
        (1, "Longer texts", ["Minimum words: 10 → 12"], True),
        (0, "Built-in defaults", [], False),
    ]

    RulesState.ask_rollback.fn(state, 0)
    RulesState.roll_back.fn(state)
    assert state.saved_message == "Rolled back: version 2 (a copy of version 0) is in force."
    assert (state.version, state.values["min_words"], state.rows[0].rolled_back_from) == (2, "10", "0")
    s.expire_all()
    assert current_rules(s).rules == DEFAULT_RULES

    RulesState.ask_rollback.fn(state, 0)
    RulesState.roll_back.fn(state)
    assert state.history_error == "Version 0 is the same as the rules in force; nothing to roll back."
    assert current_rules(s).version == 2


@pytest.mark.parametrize("who", ["consumer", "owner"])
def test_the_page_refuses_non_admins(db_session: Session, people: People, who: str):
    state = page_state(db_session, getattr(people, who))
    RulesState.load.fn(state)
    assert state.denied and state.values == {} and state.rows == []
    RulesState.save.fn(state, {**rules_to_form(DEFAULT_RULES), "min_words": "12"})
    state.confirm_version = 0
    RulesState.roll_back.fn(state)
    assert state.denied
    assert current_rules(db_session).version == 0
    assert rules_events(db_session) == []


def test_the_history_pages_newest_first(db_session: Session, people: People):
    state = page_state(db_session, people.admin)
    RulesState.load.fn(state)
    for words in range(11, 22):  # versions 1 to 11; with the defaults, 12 in all: a page of 10 and one of 2
        RulesState.save.fn(state, {**state.values, "min_words": str(words)})
    assert (state.page, state.pages, state.total) == (1, 2, 12)
    assert [row.version for row in state.rows] == list(range(11, 1, -1))

    RulesState.go_page.fn(state, 1)
    assert (state.page, [row.version for row in state.rows]) == (2, [1, 0])
    RulesState.go_page.fn(state, 1)  # there is no page after the last
    assert (state.page, [row.version for row in state.rows]) == (2, [1, 0])
    RulesState.go_page.fn(state, -1)
    assert (state.page, state.rows[0].version, state.rows[0].current) == (1, 11, True)
