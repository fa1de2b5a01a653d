"""The language a call speaks: the lead's ("en", "es") from the start, or, on an inbound call, the caller's.

Part of `CallSession` (a mixin: it uses the session's context, link and transcript). An outbound or concierge
call speaks its lead's language from the first `session.update` (instructions, greeting, disclosures and the
transcription language). An inbound call starts with the business's receptionist in English and the
transcription left to detect the language. Either way the first caller item that is transcribed decides: on an
inbound call Spanish words switch to Spanish (`classify.detect_language`); on a call that already speaks its lead's
language, words recognisably in the other one (`classify.recognised_language`: the consumer of an English lead
answers "¿Bueno? ¿Quién habla?", or of a Spanish lead "Hello, who is this?") switch to that one, while words that
tell nothing ("Okay?") keep it. A switch is a second `session.update` with that language's instructions and
transcription language, and a note in the transcript. The language reached is handed to `finish_call`, so the
summary, the follow-ups and an inbound call's lead are in it; a call that has a lead records the switch on it
(`conversation.record_call_language`, on the session's writer like every database step), so the SMS and emails
after the call, the consumer's portal and later calls speak the consumer's language too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from leadapp.core import languages
from leadapp.core.services.classify.language import detect_language, recognised_language
from leadapp.core.services.conversation import record_call_language
from leadapp.core.vocab import Language
from voice_bridge import instructions as words
from voice_bridge import realtime_wire as rt

if TYPE_CHECKING:
    from leadapp.core.services.conversation import CallContext

SWITCHED_NOTE = "The caller spoke {language}: the assistant switched to {language}."
# The note is for the owner, in English.
LANGUAGE_NAMES = {Language.ENGLISH.value: "English", Language.SPANISH.value: "Spanish"}


class LanguageMixin:
    """The language steps of `CallSession` (see the module docstring)."""

    _language: str = ""
    _language_decided: bool = False

    # provided by CallSession (with `_to_ai` and `_add_system_line`)
    _ctx: CallContext | None
    _model: str
    log: Any
    _write: Callable[[Callable[[], Any]], None]

    @property
    def language(self) -> str:
        """The language the call speaks ("en" or "es"); English while an inbound caller has said nothing yet."""
        return languages.known(self._language)

    def _session_update(self) -> str:
        """The `session.update` for the call in its language (an undecided inbound call: English instructions,
        the transcription detects the language)."""
        ctx = self._ctx
        assert ctx is not None
        instructions = words.session_instructions(ctx.business, ctx.lead, ctx.objective, ctx.call_type, self.language)
        return rt.session_update(
            model=self._model,
            instructions=instructions,
            voice=ctx.voice,
            tools=rt.tools_for(ctx.call_type),
            language=self._language,
        )

    async def _caller_spoke(self, text: str) -> None:
        """The caller's first transcribed words decide the call's language (once; see the module docstring)."""
        ctx = self._ctx
        if self._language_decided or ctx is None or not text.strip():
            return
        self._language_decided = True
        speaking = self.language
        heard = recognised_language(text) if self._language else detect_language(text)
        if heard is None:
            return  # too few words to tell: the call keeps its lead's language
        self._language = heard
        if heard == speaking:
            return  # the session already speaks it
        self.log.info("call_language_switched", language=heard, was=speaking)
        await self._to_ai(self._session_update())
        self._add_system_line(SWITCHED_NOTE.format(language=LANGUAGE_NAMES[heard]))
        if ctx.lead_id is not None:  # an inbound caller's lead is made at the end, in this language
            self._write(partial(record_call_language, ctx.call_id, heard))
