"""Spanish calls end to end through the real bridge (loopback OpenAI Realtime and Twilio media): a call about a
Spanish lead is configured, greeted, summarised and followed up in Spanish; an inbound caller whose first words are
Spanish switches the running session to Spanish, and so does the consumer of an English lead answering an outbound
call in Spanish (and the reverse); the simulated line runs a Spanish call without any account."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select

from leadapp.core.db import get_engine, session_scope
from leadapp.core.languages import english, spanish
from leadapp.core.models import AuditEvent, Call, Lead, Notification
from leadapp.core.services import calls, conversation
from leadapp.core.vocab import CallStatus, ContactPreference, NotificationKind
from tests.fakes.twilio_voice import parse_stream
from tests.integration.bridge_harness import (
    WAIT,
    Bridge,
    Seeded,
    ended,
    inbound_form,
    listen,
    load_lead,
    one_answer_script,
    post_inbound,
    transcript,
)
from voice_bridge import simulated_spanish
from voice_bridge.call_language import SWITCHED_NOTE
from voice_bridge.simulated import Script, run_simulated_call

SPANISH_REQUEST = "Tengo una fuga de agua en el calentador del garaje y necesito un plomero mañana por la mañana."


def _make_spanish(lead_id: int) -> None:
    with session_scope() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        lead.raw_text, lead.redacted_text = SPANISH_REQUEST, SPANISH_REQUEST
        lead.language = "es"
        lead.preferred_contact = ContactPreference.SMS.value  # the consumer hears back by text too


def _call_summaries(lead_id: int) -> list[Notification]:
    """The call-summary notifications about the lead (the consumer's have no business)."""
    with Session(get_engine()) as db:
        return list(
            db.exec(
                select(Notification).where(
                    Notification.lead_id == lead_id, Notification.kind == NotificationKind.CALL_SUMMARY.value
                )
            ).all()
        )


def _outbound_script() -> Script:
    return one_answer_script(
        "Hola, Jane, le habla un asistente de inteligencia artificial. Esta llamada se graba.",
        "Sí. El calentador tiene una fuga, necesito a alguien mañana por la mañana.",
        {"need": "fuga en el calentador", "urgency": "high", "timing": "mañana por la mañana"},
        "Gracias, el negocio le llamará. ¡Adiós!",
        reason="calificada",
    )


async def test_a_call_about_a_spanish_lead_speaks_summarises_and_follows_up_in_spanish(
    bridge: Bridge, seeded: Seeded
) -> None:
    _make_spanish(seeded.lead_id)
    media = await bridge.greeted(seeded, _outbound_script())
    media.say(800)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    call = await ended(seeded.call_id)

    peer = bridge.fake.session
    [(_, update)] = peer.received("session.update")
    session = update["session"]
    assert session["audio"]["input"]["transcription"]["language"] == "es"
    instructions = session["instructions"]
    assert instructions.startswith(f"Eres {spanish.AI_DISCLOSURE} que llama a Jane (el cliente)")
    assert spanish.CALL_TYPE_GOALS["qualify_lead"] in instructions and "habla siempre en español" in instructions
    assert spanish.VOICEMAIL in instructions and "categoría: plomería" in instructions
    assert english.STYLE not in instructions and english.VOICEMAIL not in instructions
    _, greet = peer.received("response.create")[0]
    said = greet["response"]["instructions"]
    assert "Hola, Jane, le habla un asistente de inteligencia artificial en nombre de Smith & Sons Plumbing" in said
    assert "Para que lo sepa, esta llamada se graba." in said and "sobre su solicitud de plomería" in said

    # The local summary (no Claude key) in Spanish.
    assert call.summary.startswith("Resultado: Calificada. Necesidad: fuga en el calentador; Urgencia: Urgente;")
    assert "Cuándo: mañana por la mañana" in call.summary and "lo último que dijo la persona" in call.summary

    # Twilio's `completed` status callback ends the call: the consumer's follow-ups are in Spanish.
    assert calls.end_call(seeded.call_id, CallStatus.COMPLETED.value, "goal_achieved")
    rows = _call_summaries(seeded.lead_id)
    consumer = {row.channel: row for row in rows if row.business_id is None}
    assert consumer["sms"].body_text.startswith("Su llamada de LeadApp: Calificada.")
    assert consumer["email"].subject == "Su llamada sobre su solicitud de plomería: Calificada"
    email = consumer["email"].body_text
    assert email.startswith("Resultado: Calificada\n") and call.summary in email
    owner = [row for row in rows if row.business_id is not None]
    # The owner is told in English (the summary inside is the call's own, in Spanish).
    assert owner and all(row.subject.startswith("AI call: Qualified") for row in owner if row.channel == "email")


async def test_when_the_assistant_of_a_spanish_call_is_lost_the_apology_is_read_in_spanish(
    bridge: Bridge, seeded: Seeded
) -> None:
    _make_spanish(seeded.lead_id)
    media = await bridge.greeted(seeded, _outbound_script())
    await bridge.fake.close_session(1011, "internal error")
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert call.outcome == "ai_failure"
    assert bridge.hangups == [seeded.call_sid]
    [apology] = bridge.said_before_hangup
    assert apology == spanish.APOLOGY_AFTER_AI_LOST.format(who="Smith & Sons Plumbing")
    assert bridge.said_in == [spanish.SAY_LANGUAGE]  # Twilio's text-to-speech reads it as Spanish


def _answered_in(caller_said: str) -> Script:
    """An outbound call whose consumer answers `caller_said`; the assistant then records and ends the call."""
    return one_answer_script(
        "Hi Jane, an AI assistant here for Smith and Sons Plumbing. This call is recorded.",
        caller_said,
        {"need": "fuga en el calentador", "urgency": "high"},
        "Gracias. ¡Adiós!",
    )


async def _outbound_answered(bridge: Bridge, seeded: Seeded, caller_said: str) -> tuple[list[dict], Call]:
    media = await bridge.greeted(seeded, _answered_in(caller_said))
    media.say(1200)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    call = await ended(seeded.call_id)
    return [event["session"] for _, event in bridge.fake.session.received("session.update")], call


OUTBOUND_INTRO = {
    "en": f"You are {english.AI_DISCLOSURE} phoning Jane (the consumer)",
    "es": f"Eres {spanish.AI_DISCLOSURE} que llama a Jane (el cliente)",
}
GOALS = {"en": english.CALL_TYPE_GOALS["qualify_lead"], "es": spanish.CALL_TYPE_GOALS["qualify_lead"]}


@pytest.mark.parametrize(
    ("lead_language", "answer", "heard", "note", "summary"),
    [
        ("en", "¿Bueno? Sí, soy yo. ¿Quién habla, por favor?", "es", "Spanish", "Resultado: Calificada. Necesidad:"),
        ("es", "Hello? Yes, this is Jane. Who is calling, please?", "en", "English", "Outcome: Qualified. Need:"),
    ],
    ids=["english-lead-answered-in-spanish", "spanish-lead-answered-in-english"],
)
async def test_a_consumer_answering_an_outbound_call_in_the_other_language_switches_the_call_to_it(
    bridge: Bridge, seeded: Seeded, lead_language: str, answer: str, heard: str, note: str, summary: str
) -> None:
    if lead_language == "es":
        _make_spanish(seeded.lead_id)
    updates, call = await _outbound_answered(bridge, seeded, answer)

    first, switched = updates
    assert first["audio"]["input"]["transcription"]["language"] == lead_language
    assert first["instructions"].startswith(OUTBOUND_INTRO[lead_language])
    # The consumer's first words were in the other language: the same call, now speaking and transcribing it.
    assert switched["audio"]["input"]["transcription"]["language"] == heard
    assert switched["instructions"].startswith(OUTBOUND_INTRO[heard]) and GOALS[heard] in switched["instructions"]
    assert switched["tools"] == first["tools"] and switched["audio"]["output"] == first["audio"]["output"]
    notes = [line.text for line in transcript(seeded.call_id) if line.speaker == "system"]
    assert notes == [SWITCHED_NOTE.format(language=note)]
    assert call.summary.startswith(f"{summary} fuga en el calentador;")


def _language_audits(lead_id: int) -> list[AuditEvent]:
    with Session(get_engine()) as db:
        return list(
            db.exec(
                select(AuditEvent).where(AuditEvent.action == "lead.language", AuditEvent.target_id == str(lead_id))
            ).all()
        )


async def test_an_english_lead_who_answers_in_spanish_becomes_a_spanish_lead_and_hears_back_in_spanish(
    bridge: Bridge, seeded: Seeded
) -> None:
    with session_scope() as session:
        lead = session.get(Lead, seeded.lead_id)
        assert lead is not None and lead.language == "en"
        lead.preferred_contact = ContactPreference.SMS.value
    await _outbound_answered(bridge, seeded, "¿Bueno? Sí, soy yo. ¿Quién habla, por favor?")

    assert load_lead(seeded.lead_id).language == "es"
    [audited] = _language_audits(seeded.lead_id)
    assert audited.actor_id is None and audited.target_type == "leads"
    assert audited.before == {"language": "en"} and audited.after == {"language": "es", "call_id": seeded.call_id}
    # Twilio's `completed` status callback ends the call: the consumer's follow-ups are in Spanish.
    assert calls.end_call(seeded.call_id, CallStatus.COMPLETED.value, "goal_achieved")
    consumer = {row.channel: row for row in _call_summaries(seeded.lead_id) if row.business_id is None}
    assert consumer["sms"].body_text.startswith("Su llamada de LeadApp: Calificada.")
    assert consumer["email"].subject.startswith("Su llamada sobre su solicitud")
    # Recording the same language again changes nothing and audits nothing more.
    assert not conversation.record_call_language(seeded.call_id, "es")
    assert len(_language_audits(seeded.lead_id)) == 1 and load_lead(seeded.lead_id).language == "es"


async def test_words_that_tell_no_language_leave_the_lead_alone(bridge: Bridge, seeded: Seeded) -> None:
    await _outbound_answered(bridge, seeded, "Okay?")

    assert load_lead(seeded.lead_id).language == "en" and not _language_audits(seeded.lead_id)


async def test_first_words_that_tell_no_language_keep_the_leads_language(bridge: Bridge, seeded: Seeded) -> None:
    _make_spanish(seeded.lead_id)
    updates, call = await _outbound_answered(bridge, seeded, "Okay?")

    [only] = updates
    assert only["audio"]["input"]["transcription"]["language"] == "es"
    assert all(line.speaker != "system" for line in transcript(seeded.call_id))
    assert call.summary.startswith("Resultado: Calificada.")


def _inbound_script(caller_said: str) -> Script:
    return one_answer_script(
        "Thank you for calling Smith and Sons Plumbing, an AI assistant here.",
        caller_said,
        {"need": "fregadero tapado", "zip": "46032", "caller_name": "Bob Stone"},
        "Gracias, Bob. ¡Adiós!",
    )


async def _inbound_call(bridge: Bridge, caller_said: str) -> Call:
    bridge.fake.use(_inbound_script(caller_said))
    form = inbound_form()
    answer = await post_inbound(bridge, form)
    call_id = int(parse_stream(answer.text).parameters["call_id"])
    media = await bridge.dial(call_id, form["CallSid"])  # Twilio opening the stream the TwiML named
    await listen(media)
    media.say(1200)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    return await ended(call_id)


async def test_an_inbound_caller_speaking_spanish_first_switches_the_call_to_spanish(
    bridge: Bridge, seeded: Seeded
) -> None:
    call = await _inbound_call(
        bridge, "Hola, buenas tardes. Tengo el fregadero tapado y necesito un plomero, por favor."
    )

    peer = bridge.fake.session
    first, switched = [event["session"] for _, event in peer.received("session.update")]
    # Until the caller has spoken: the receptionist in English, the transcription left to detect the language.
    assert "receptionist of Smith & Sons Plumbing" in first["instructions"]
    assert "language" not in first["audio"]["input"]["transcription"]
    # The caller's first words were Spanish: the session now speaks and transcribes Spanish.
    assert switched["audio"]["input"]["transcription"]["language"] == "es"
    assert switched["instructions"].startswith(
        f"Eres {spanish.AI_DISCLOSURE} que contesta el teléfono como recepcionista"
    )
    assert switched["tools"] == first["tools"] and switched["audio"]["output"] == first["audio"]["output"]
    lines = transcript(call.id)  # type: ignore[arg-type]
    assert SWITCHED_NOTE.format(language="Spanish") in [line.text for line in lines if line.speaker == "system"]
    assert call.summary.startswith("Resultado: Calificada. Necesidad: fregadero tapado;")
    assert call.lead_id is not None and load_lead(call.lead_id).language == "es"


async def test_an_inbound_caller_speaking_english_keeps_the_call_in_english(bridge: Bridge, seeded: Seeded) -> None:
    call = await _inbound_call(bridge, "Hi, my kitchen sink is clogged and I need a plumber, please.")

    [(_, update)] = bridge.fake.session.received("session.update")
    assert "receptionist of Smith & Sons Plumbing" in update["session"]["instructions"]
    assert all(line.speaker != "system" for line in transcript(call.id))  # type: ignore[arg-type]
    assert call.summary.startswith("Outcome: Qualified. Need: fregadero tapado;")
    assert call.lead_id is not None and load_lead(call.lead_id).language == "en"


async def test_the_simulated_line_runs_a_spanish_call_without_accounts(bridge: Bridge, simulated_call: Seeded) -> None:
    seeded = simulated_call
    _make_spanish(seeded.lead_id)

    outcome = await asyncio.wait_for(asyncio.to_thread(run_simulated_call, seeded.call_id, 8.0), 90)

    assert outcome == "goal_achieved"
    call = await ended(seeded.call_id)
    lines = transcript(seeded.call_id)
    greeting = lines[0].text
    assert lines[0].speaker == "assistant" and "le habla un asistente de inteligencia artificial" in greeting
    assert "esta llamada se graba" in greeting
    facts = simulated_spanish.spanish_facts(load_lead(seeded.lead_id))
    assert facts.need == SPANISH_REQUEST and facts.budget == "$300 a $600"
    assert any(line.speaker == "caller" and "Mi presupuesto es de $300 a $600." in line.text for line in lines)
    assert call.summary.startswith("Resultado: Calificada. Necesidad: Tengo una fuga de agua")


async def test_a_simulated_concierge_call_for_a_spanish_lead_speaks_for_leadapp_in_spanish(
    bridge: Bridge, simulated_call: Seeded
) -> None:
    seeded = simulated_call
    _make_spanish(seeded.lead_id)
    with session_scope() as session:
        call = session.get(Call, seeded.call_id)
        assert call is not None
        call.business_id, call.call_type = None, "consumer_callback"  # LeadApp's own callback, no business yet

    outcome = await asyncio.wait_for(asyncio.to_thread(run_simulated_call, seeded.call_id, 8.0), 90)

    assert outcome == "goal_achieved"
    lines = transcript(seeded.call_id)
    assert lines[0].text.startswith(f"Hola, Jane, le habla {spanish.AI_DISCLOSURE} de LeadApp")
    assert "esta llamada se graba" in lines[0].text and "solicitud de plomería" in lines[0].text
    assert (await ended(seeded.call_id)).summary.startswith("Resultado: Calificada. Necesidad: fuga debajo")
