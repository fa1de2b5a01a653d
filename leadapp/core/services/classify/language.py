"""Which language a request (or a caller's first words) is in: English or Spanish, by a cheap, deterministic count.

Each word that belongs to one language only (function words, greetings and the everyday words of a home-service
request: "el", "necesito", "tengo", "por favor" / "the", "need", "my") counts one point for its language; an
accented letter or an inverted ¿ ¡ counts one more for Spanish (English words are not written with them). Spanish
wins when it has more points than English and at least `MIN_SPANISH_POINTS` (1 for a text of at most three words,
so "Hola, buenas tardes" or "¿Hablan español?" count, 2 otherwise), so one Spanish word in an English request
(a street name, "gracias") does not turn it; a tie or nothing recognised is English. Words that are the same in
both languages ("a", "no", "me", "son", "plan") count for neither.
"""

from __future__ import annotations

import re

from leadapp.core.vocab import Language


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SPANISH_WORDS = _words(
    """
    el la los las un una unos unas del al lo le les de que y en por para con sin pero como cuando donde porque
    muy mas más ya también tambien hay es está esta están estan estoy soy somos fue ser estar tiene tengo tenemos
    necesito necesita necesitamos quiero queremos puede pueden podría podria hacer arreglar reparar cambiar
    mi mis su sus nuestro nuestra nos se usted ustedes yo él ella ellos
    hola buenos buenas días dias tardes noches gracias favor bueno sí señor señora disculpe perdón
    casa cocina baño bano agua fuga gotea tubería tuberia techo luz calentador aire puerta ventana piso
    urgente hoy mañana manana semana presupuesto dólares dolares llamar llamen hablar español espanol
    este estos estas ese esa eso aquí aqui ahí próxima proxima
    """
)
_ENGLISH_WORDS = _words(
    """
    the and to of in is are was were be been my our your their his her it its this that these those with for
    from at on by or but if when where because very also there here have has had do does did not don't can
    could would should will need needs want wants get fix repair replace please thanks thank hello hi
    i i'm we you they he she us them what which who how about some any just
    house home kitchen bathroom water leak leaking pipe roof light heater door window floor
    urgent today tomorrow week budget dollars call speak english next
    """
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SPANISH_MARKS = re.compile(r"[áéíóúñü¿¡]", re.IGNORECASE)
SHORT_WORDS = 3
MIN_SPANISH_POINTS = 2


def language_points(text: str) -> tuple[int, int]:
    """(Spanish points, English points) of a text, by the rules in the module docstring."""
    words = [w.lower() for w in _WORD.findall(text or "")]
    spanish = sum(1 for w in words if w in _SPANISH_WORDS)
    english = sum(1 for w in words if w in _ENGLISH_WORDS)
    if _SPANISH_MARKS.search(text or ""):
        spanish += 1
    return spanish, english


def recognised_language(text: str) -> str | None:
    """The language the words are recognisably in ("es" or "en": more points than the other and at least the
    minimum of the module docstring), or None when they say too little to tell ("Okay?", "Mm-hmm"); never raises."""
    spanish, english = language_points(text)
    short = len(_WORD.findall(text or "")) <= SHORT_WORDS
    needed = 1 if short else MIN_SPANISH_POINTS
    if spanish > english and spanish >= needed:
        return Language.SPANISH.value
    if english > spanish and english >= needed:
        return Language.ENGLISH.value
    return None


def detect_language(text: str) -> str:
    """ "es" when the text reads as Spanish, else "en" (see the module docstring); never raises."""
    return recognised_language(text) or Language.ENGLISH.value
