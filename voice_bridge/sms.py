"""Inbound SMS webhook (`POST /twilio/sms`): STOP and START replies, honoured for every later SMS
(applied by `core.services.sms_replies`).

Guarantees:
- Nothing is accepted unsigned: the `X-Twilio-Signature` must match, computed with TWILIO_AUTH_TOKEN
  over the PUBLIC url (VOICE_BRIDGE_PUBLIC_URL + "/twilio/sms", the address configured at Twilio) and
  the form fields. Behind TLS termination the request URL this process sees differs, so it is never
  used. A missing or wrong signature, or no auth token configured, is a 403 and changes nothing.
- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (any case, surrounding spaces ignored) record an
  SMS opt-out for the sender AND withdraw their consent to AI calls (the number goes on the do-not-call
  list, source `sms`, with the message's words): a person who says stop to our texts is not phoned by
  our AI either. START, UNSTOP, YES clear the SMS opt-out only; AI calls need fresh consent.
- STOP CALLS (and its plain variants: STOP CALLING, NO CALLS, DO NOT CALL …) withdraws consent to AI calls
  only; texts go on. It is answered with a confirmation `<Message>` (Twilio does not know this keyword).
- The same in Spanish, for consumers whose requests and texts are in Spanish: BAJA, PARAR, ALTO, CANCELAR … stop
  texts and AI calls, ALTA gives texts back, NO ME LLAMEN … stops AI calls only (accents and case do not matter).
  Twilio knows none of these words, so each is answered with a confirmation `<Message>` in Spanish.
- Any other text is a reply to a conversation: it lands in the sender's last open thread (as the consumer of a
  request made with that number, or a business texted at it), once per MessageSid. A text from a number in no
  conversation changes nothing; one for a closed conversation, or too long, is answered with a `<Message>` saying
  it was not delivered. The answer to STOP/START is empty TwiML: Twilio sends its own compliance replies to its
  keywords.
"""

from __future__ import annotations

import unicodedata

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from leadapp.core.observability import get_logger
from leadapp.core.services.sms_replies import OptAction, apply_opt_action, thread_reply
from voice_bridge.signatures import SIGNATURE_HEADER, public_url, rejected, signed_form

SMS_PATH = "/twilio/sms"


def _phrases(text: str) -> frozenset[str]:
    """Keywords written one after the other, separated by "|"."""
    return frozenset(phrase.strip() for phrase in text.split("|"))


STOP_WORDS = _phrases("STOP|STOPALL|UNSUBSCRIBE|CANCEL|END|QUIT")
START_WORDS = _phrases("START|UNSTOP|YES")
STOP_CALLS_WORDS = _phrases(
    "STOP CALLS|STOP CALL|STOP CALLING|STOP AI CALLS|NO CALLS|NO AI CALLS|NO MORE CALLS|DO NOT CALL|DONT CALL|"
    "DON'T CALL|DO NOT CALL ME|DONT CALL ME|DON'T CALL ME"
)
# Spanish keywords (Twilio's own list is English only): what a Spanish-speaking consumer replies to stop, restart
# and refuse calls, compared without accents.
SPANISH_STOP_WORDS = _phrases("BAJA|PARAR|PARE|ALTO|CANCELAR|DETENER|NO MAS MENSAJES|NO ENVIAR")
SPANISH_START_WORDS = _phrases("ALTA|REANUDAR|COMENZAR")
SPANISH_STOP_CALLS_WORDS = _phrases(
    "NO LLAMAR|NO LLAMEN|NO ME LLAMEN|NO ME LLAMES|NO MAS LLAMADAS|SIN LLAMADAS|PARAR LLAMADAS|BAJA LLAMADAS"
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
STOP_CALLS_REPLY = (
    "LeadApp: OK, no more AI calls to this number. You will still get texts about your request; reply STOP to end them."
)
SPANISH_REPLIES: dict[OptAction, str] = {
    "stop": "LeadApp: no recibirá más mensajes ni llamadas de IA de nosotros. Responda ALTA para volver a recibir "
    "mensajes.",
    "start": "LeadApp: volverá a recibir nuestros mensajes. Responda BAJA para dejar de recibirlos.",
    "stop_calls": "LeadApp: de acuerdo, no más llamadas de IA a este número. Seguirá recibiendo mensajes sobre su "
    "solicitud; responda BAJA para dejar de recibirlos.",
}

log = get_logger("voice_bridge.sms")
router = APIRouter()


def public_sms_url(public_base: str) -> str:
    """The URL Twilio signs: the bridge's public address plus the webhook path."""
    return public_url(SMS_PATH, public_base)


def _keyword_form(body: str) -> str:
    """The message as keywords are compared: upper case, one space between words, no end punctuation (Spanish's
    opening ¡ ¿ too), no accents."""
    words = " ".join((body or "").upper().replace("’", "'").split()).strip(" .!¡?¿")
    return "".join(c for c in unicodedata.normalize("NFD", words) if not unicodedata.combining(c))


def keyword(body: str) -> tuple[OptAction, str] | None:
    """(action, language) when the whole message is a keyword: "stop" or "start" for the opt-out / opt-in words,
    "stop_calls" when it asks for no more calls (STOP CALLS …); "en" for Twilio's words and ours in English, "es"
    for the Spanish ones. None for any other message."""
    words = _keyword_form(body)
    for language, stop, start, stop_calls in (
        ("en", STOP_WORDS, START_WORDS, STOP_CALLS_WORDS),
        ("es", SPANISH_STOP_WORDS, SPANISH_START_WORDS, SPANISH_STOP_CALLS_WORDS),
    ):
        if words in stop:
            return "stop", language
        if words in start:
            return "start", language
        if words in stop_calls:
            return "stop_calls", language
    return None


def opt_action(body: str) -> OptAction | None:
    """The action of a keyword message (see `keyword`), in whichever language; None for any other message."""
    found = keyword(body)
    return found[0] if found else None


@router.post(SMS_PATH)
async def inbound_sms(request: Request) -> Response:
    """Twilio's incoming-message webhook: verify the signature, apply STOP/START, answer empty TwiML."""
    form = await signed_form(request)
    if form is None:
        signed = bool(request.headers.get(SIGNATURE_HEADER))
        log.warning("sms_webhook_rejected", reason="invalid signature" if signed else "missing signature")
        return rejected()
    sender = form.get("From", "").strip()[:64]
    body = form.get("Body", "")
    found = keyword(body)
    action, language = found if found else (None, "en")
    if action is not None and sender:
        await run_in_threadpool(apply_opt_action, action, sender, body)
        log.info("sms_opt_action", action=action, language=language, message_sid=form.get("MessageSid", "")[:64])
        if language == "es":  # Twilio answers its own (English) keywords only
            return _say(SPANISH_REPLIES[action])
    if action == "stop_calls" and sender:
        return _say(STOP_CALLS_REPLY)
    if action is None and sender and body.strip():
        sid = form.get("MessageSid", "")[:64]
        outcome = await run_in_threadpool(thread_reply, sender, body, sid)
        log.info("sms_thread_reply", status=outcome.status, message_sid=sid)
        if outcome.status in ("closed", "invalid"):
            return _say(f"LeadApp: your message was not delivered. {outcome.reason}")
    return Response(EMPTY_TWIML, media_type="application/xml")


def _say(text: str) -> Response:
    reply = MessagingResponse()
    reply.message(text)
    return Response(reply.to_xml(), media_type="application/xml")
