"""Each kind of call through the real bridge (loopback OpenAI Realtime and Twilio media): a confirmation call
offers the model its own tool, and the caller's answer about the visit is kept on the call, the lead and the
summary; a qualification call offers no such tool, and a call to it stores nothing."""

from __future__ import annotations

import asyncio
import json

from leadapp.core.db import session_scope
from leadapp.core.models import Call
from leadapp.core.vocab import CallType
from tests.integration.bridge_harness import GREETING, WAIT, Bridge, Seeded, ended, load_lead
from voice_bridge import realtime_wire as rt
from voice_bridge.simulated import Reply, Script, Turn


def _make(call_id: int, call_type: str) -> None:
    with session_scope() as session:
        call = session.get(Call, call_id)
        assert call is not None
        call.call_type = call_type


def _script(tool: str, arguments: dict[str, str]) -> Script:
    return Script(
        greeting=Reply(GREETING, audio_ms=600),
        turns=[
            Turn(
                "Thursday at nine thirty still works for me.",
                Reply(
                    tool=tool,
                    arguments=arguments,
                    then=Reply(
                        "Great, see you Thursday. Goodbye!",
                        audio_ms=500,
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": "confirmed"},
                    ),
                ),
            )
        ],
    )


async def _run(bridge: Bridge, seeded: Seeded, script: Script) -> Call:
    media = await bridge.greeted(seeded, script)
    media.say(600)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    return await ended(seeded.call_id)


async def test_a_confirmation_call_records_the_visit_answer_with_its_own_tool(bridge: Bridge, seeded: Seeded) -> None:
    _make(seeded.call_id, CallType.CONFIRM_APPOINTMENT.value)
    answer = {"appointment_status": "confirmed", "appointment_time": "Thursday 9:30"}
    call = await _run(bridge, seeded, _script(rt.RECORD_APPOINTMENT, answer))

    peer = bridge.fake.session
    (_, update), *_ = peer.received("session.update")
    tools = [tool["name"] for tool in update["session"]["tools"]]
    assert rt.RECORD_APPOINTMENT in tools and rt.RECORD_FEEDBACK not in tools
    assert "Confirm the booked visit" in update["session"]["instructions"]
    assert call.qualification == answer
    assert load_lead(seeded.lead_id).qualification == answer
    assert "Visit: confirmed" in call.summary and "Appointment: Thursday 9:30" in call.summary
    saved = [json.loads(out["output"]) for out in peer.function_outputs]
    assert saved[0] == {"saved": ["appointment_status", "appointment_time"]}
    assert call.outcome == "goal_achieved"
    assert bridge.fake.problems == [] and bridge.fake.invalid_events == []


async def test_a_qualification_call_has_no_visit_tool_and_a_call_to_it_stores_nothing(
    bridge: Bridge, seeded: Seeded
) -> None:
    call = await _run(bridge, seeded, _script(rt.RECORD_APPOINTMENT, {"appointment_status": "cancel"}))

    peer = bridge.fake.session
    (_, update), *_ = peer.received("session.update")
    assert rt.RECORD_APPOINTMENT not in [tool["name"] for tool in update["session"]["tools"]]
    assert not call.qualification
    assert "error" in json.loads(peer.function_outputs[0]["output"])
