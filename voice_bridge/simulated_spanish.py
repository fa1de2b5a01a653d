"""The simulated line in Spanish: what the scripted callee says (and the scripted assistant answers) on a call
about a Spanish lead, and a Spanish-speaking caller to a business's own number.

The assistant's lines follow the Spanish instructions (`core.languages.spanish`): the greeting discloses the AI
and the recording in Spanish. An inbound caller starts after the receptionist's English greeting and speaks
Spanish, so the bridge switches the session (`call_language`). Pure script building; `simulated` runs them.
"""

from __future__ import annotations

from leadapp.core.languages import spanish
from leadapp.core.models import Lead
from leadapp.core.vocab import Urgency
from voice_bridge import scripted_calls as scripted
from voice_bridge.caller_facts import CallerFacts, facts_for_lead
from voice_bridge.loopback.script import Script

TIMING: dict[str, tuple[str, str]] = {
    Urgency.EMERGENCY.value: ("Es una emergencia, necesito a alguien ya mismo.", "de inmediato (emergencia)"),
    Urgency.HIGH.value: ("Es urgente, hoy o mañana si es posible.", "hoy o mañana"),
    Urgency.NORMAL.value: ("En la próxima semana más o menos está bien.", "en una semana más o menos"),
    Urgency.LOW.value: ("No hay prisa, cuando les convenga.", "sin prisa"),
}
DEMO = CallerFacts(
    need="Tengo una fuga de agua en el calentador del garaje.",
    need_recorded="fuga de agua en el calentador del garaje",
    timing_said="Me gustaría que vinieran mañana por la mañana.",
    timing="mañana por la mañana",
    budget_said="Unos quinientos dólares.",
    budget="unos $500",
    address_said="Es en 12 Main Street, 46032.",
)


def spanish_facts(lead: Lead | None) -> CallerFacts:
    """The callee's answers in Spanish: the lead's own first sentence (already Spanish), its timing, its budget
    and its ZIP code said in Spanish (the demo story without a lead)."""
    facts = facts_for_lead(lead)
    if lead is None or facts == CallerFacts():
        return DEMO
    timing_said, timing = TIMING.get(facts.urgency, TIMING[Urgency.NORMAL.value])
    low, high = lead.budget_min, lead.budget_max
    if low and high and low != high:
        budget = f"${low:,} a ${high:,}"
    elif low or high:
        budget = f"unos ${(high or low):,}"
    else:
        budget = ""
    return CallerFacts(
        need=facts.need,
        need_recorded=facts.need_recorded,
        urgency=facts.urgency,
        timing_said=timing_said,
        timing=timing,
        budget_said=f"Mi presupuesto es de {budget}." if budget else "Todavía no sé el presupuesto.",
        budget=budget or "no sabe",
        zip=facts.zip,
        address_said=f"El trabajo es en el código postal {facts.zip}." if facts.zip else "La dirección, después.",
        address="",
    )


SPANISH_QUALIFY = scripted.QualifyLines(
    hello_named=spanish.HELLO_NAMED,
    hello=spanish.HELLO,
    about=spanish.ABOUT_OUTBOUND,
    greeting="{hello}, le habla "
    + spanish.AI_DISCLOSURE
    + " en nombre de {business}{about}. Para que lo sepa, "
    + spanish.RECORDING_NOTICE
    + ". ¿Es un buen momento para un par de preguntas rápidas?",
    go_ahead="Sí, claro, dígame.",
    ask_need="Muy bien. ¿Qué está pasando y para cuándo necesita a alguien?",
    ask_budget="Entendido. ¿Tiene un presupuesto en mente, y cuál es la dirección y el código postal?",
    goodbye="Perfecto, ya tengo todo. {business} le llamará para confirmar una hora. ¡Muchas gracias, adiós!",
    reason="trabajo calificado",
)


def qualify_script(business_name: str, first_name: str, service: str, facts: CallerFacts) -> Script:
    """A short qualifying call in Spanish: the greeting with both disclosures, three answers, two records."""
    return scripted.qualify_script(business_name, first_name, service, facts, SPANISH_QUALIFY)


SPANISH_RECEPTIONIST = scripted.ReceptionistLines(
    opening="Hola, buenas tardes. Me llamo Alex Morgan. Tengo una fuga de agua debajo del fregadero de la cocina "
    "y necesito un plomero. Estoy en 12 Main Street, {zip}.",
    need="fuga de agua debajo del fregadero de la cocina",
    ask_when="Gracias, Alex. ¿Cuándo le conviene la visita, y tiene un presupuesto en mente?",
    when_said="Mañana por la mañana si es posible, y unos cuatrocientos dólares.",
    timing="mañana por la mañana",
    budget="unos $400",
    goodbye="Perfecto, ya le pasé sus datos a {business}; le devolverán la llamada pronto. ¡Adiós!",
    reason="datos del trabajo tomados",
)


def receptionist_script(business_name: str, zip_code: str) -> Script:
    """A Spanish-speaking caller phones the business: the English greeting with the disclosures, then the caller's
    Spanish (the bridge switches the session), the job taken in Spanish, the call ended."""
    return scripted.receptionist_script(business_name, zip_code, lines=SPANISH_RECEPTIONIST)


SPANISH_CONCIERGE = scripted.ConciergeLines(
    hello_named=spanish.HELLO_NAMED,
    hello=spanish.HELLO,
    about=spanish.ABOUT_CATEGORY,
    about_unknown=spanish.ABOUT_REQUEST,
    greeting="{hello}, le habla " + spanish.AI_DISCLOSURE + " de LeadApp, le devolvemos la llamada sobre {about}. "
    "Para que lo sepa, " + spanish.RECORDING_NOTICE + ". ¿Es un buen momento para repasar los datos?",
    go_ahead="Sí, adelante.",
    ask_need="Gracias. ¿Qué hay que hacer exactamente y para cuándo lo necesita?",
    need_said="Hay una fuga en el tubo debajo del fregadero de la cocina, quisiera a alguien esta semana.",
    need="fuga debajo del fregadero",
    timing="esta semana",
    ask_budget="Entendido. ¿Qué presupuesto tiene en mente, y cuál es el código postal del trabajo?",
    budget_said="Unos trescientos dólares. Es en 12 Main Street, {zip}.",
    budget="unos $300",
    goodbye="Gracias, ya tengo todo. LeadApp buscará negocios de nuevo con su solicitud completa y le avisaremos por "
    "correo o mensaje de texto cuando uno responda. ¡Adiós!",
    reason="solicitud completada",
)


def concierge_script(first_name: str, service: str, zip_code: str) -> Script:
    """A LeadApp concierge call in Spanish: the assistant speaks for LeadApp, goes over the request, completes it."""
    return scripted.concierge_script(first_name, service, zip_code, SPANISH_CONCIERGE)
