"""Attack: a forged X-Forwarded-For on the voice bridge (`python -m voice_bridge`, as it is deployed).

The bridge names the client of every request in its logs by the project's one rule (`core.client_ip`): the
socket peer, unless that peer is a proxy listed in TRUSTED_PROXIES. uvicorn's own proxy-header handling, on by
default and trusting 127.0.0.1, rewrote the peer from the header first, so any local sender (or a proxy that
passes the header on unchanged) could write itself any address, whatever TRUSTED_PROXIES said.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.integration.programs import program_output, wait_until

FORGED = "203.0.113.77"


def test_a_forged_forwarded_for_does_not_become_the_bridges_client(voice_bridge_url: str, tmp_path: Path) -> None:
    log_path = tmp_path / "voice_bridge.log"  # where the fixture's bridge writes
    response = httpx.post(
        f"{voice_bridge_url}/twilio/sms",
        data={"From": "+13175550142", "Body": "STOP"},
        headers={"X-Forwarded-For": FORGED},
        timeout=5,
    )
    assert response.status_code == 403  # unsigned
    wait_until(lambda: "sms_webhook_rejected" in program_output(log_path), "the rejection in the log", log_path)
    (line,) = [line for line in program_output(log_path).splitlines() if "sms_webhook_rejected" in line]
    assert FORGED not in line
    assert "127.0.0.1" in line
