"""Forged client IPs (issue 11, item 1), each written as the attack.

A deployment behind a load balancer believes the `X-Forwarded-For` its proxy hands on. The client writes
whatever it likes into that header, and the proxy appends the address it really saw, so only the right-most
address that is not one of our proxies (TRUSTED_PROXIES) is the client. Taking the left-most value let one
client send `X-Forwarded-For: ,` (an empty IP, whose limit was skipped) or a fresh random address per request
(a fresh bucket each) and get 11 requests accepted within the hour against a limit of 5.

The attacks run against the real thing: the rule itself (uvicorn's), the public API in process, and then a
whole started deployment over HTTP and over a socket.io client speaking Reflex's event protocol.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from starlette.testclient import TestClient

from leadapp.core import client_ip
from leadapp.core.models import Lead

PROXY = "127.0.0.1"
"""The deployment's own load balancer (the test process posts as it, appending the address it 'saw')."""

GOOD = {
    "text": "My water heater is leaking all over the garage floor, need someone today in Carmel, budget around $500",
    "zip": "46032",
    "email": "casey@example.com",
}


def forged_values() -> Iterator[str]:
    """What the attacker writes into X-Forwarded-For: empty lists, garbage, and a fresh address every time."""
    yield ","
    yield ", ,"
    yield ""
    yield "not-an-ip"
    while True:
        yield f"{secrets.randbelow(223) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def through_proxy(forged: str, real: str) -> str:
    """The header as our proxy hands it on: the client's own value, then the address the proxy saw."""
    return f"{forged}, {real}" if forged else real


# --- the rule -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("forged", [",", ", ,", "", "garbage", "10.1.2.3", "198.51.100.1, 198.51.100.2"])
def test_what_the_client_writes_is_never_its_address_behind_a_trusted_proxy(forged: str) -> None:
    assert client_ip.resolve(PROXY, through_proxy(forged, "203.0.113.9"), PROXY) == "203.0.113.9"


def test_several_trusted_hops_are_skipped_from_the_right() -> None:
    chain = "6.6.6.6, 203.0.113.9, 10.0.0.7, 10.0.0.8"
    assert client_ip.resolve("10.0.0.9", chain, "10.0.0.0/8") == "203.0.113.9"


@pytest.mark.parametrize("forged", [",", "203.0.113.50", "1.2.3.4, 5.6.7.8"])
def test_without_trusted_proxies_the_header_is_ignored(forged: str) -> None:
    assert client_ip.resolve("198.51.100.20", forged, "") == "198.51.100.20"
    # A peer that is not a listed proxy cannot speak for anyone else either.
    assert client_ip.resolve("198.51.100.20", forged, PROXY) == "198.51.100.20"


@pytest.mark.parametrize("peer", ["", None, "testclient", "unix:/run/app.sock"])
def test_an_address_nobody_can_tell_is_one_shared_bucket(peer: str | None) -> None:
    assert client_ip.resolve(peer, ",", PROXY) == client_ip.UNKNOWN
    assert client_ip.bucket(client_ip.resolve(peer, None, "")) == client_ip.UNKNOWN
    assert client_ip.bucket("") == client_ip.UNKNOWN


def test_one_ipv6_client_cannot_rotate_through_its_own_64() -> None:
    first = client_ip.resolve("2001:db8:1:2::1", None, "")
    other = client_ip.resolve("2001:db8:1:2:ffff::9", None, "")
    assert first != other and client_ip.bucket(first) == client_ip.bucket(other) == "2001:db8:1:2::/64"
    assert client_ip.resolve("::ffff:203.0.113.9", None, "") == "203.0.113.9"


# --- the public API, in process -------------------------------------------------------------------------


@pytest.fixture
def behind_proxy(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # What "any deployment behind a load balancer" set before: the left-most value of this header was believed.
    monkeypatch.setenv("TRUSTED_PROXY_HEADER", "X-Forwarded-For")
    monkeypatch.setenv("TRUSTED_PROXIES", PROXY)
    from tests.conftest import clear_app_caches

    clear_app_caches()
    from leadapp.api.app import api

    with TestClient(api, client=(PROXY, 50000)) as client:
        yield client


def test_forged_forwarded_for_over_the_api_gets_the_sixth_request_refused(behind_proxy: TestClient) -> None:
    forged = forged_values()
    answers = [
        behind_proxy.post("/api/v1/leads", json=GOOD, headers={"X-Forwarded-For": through_proxy(next(forged), real)})
        for real in ["203.0.113.9"] * 6
    ]
    assert [a.status_code for a in answers] == [201] * 5 + [429], [a.text for a in answers]
    assert answers[-1].json()["error"] == "rate_limited"
    from sqlmodel import Session, select

    from leadapp.core.db import get_engine

    with Session(get_engine()) as session:
        assert {lead.client_ip for lead in session.exec(select(Lead)).all()} == {"203.0.113.9"}


def test_requests_whose_address_is_unknown_share_one_limit(app_env: dict[str, str]) -> None:
    from leadapp.api.app import api

    # The test client's peer ("testclient") is no IP address: every such request is the client "unknown".
    with TestClient(api) as client:
        answers = [client.post("/api/v1/leads", json=GOOD, headers={"X-Forwarded-For": ","}) for _ in range(6)]
    codes = [answer.status_code for answer in answers]
    assert codes == [201] * 5 + [429]


# --- a started deployment: HTTP and socket.io -------------------------------------------------------------


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.e2e.conftest import local_deployment

    with local_deployment(
        Path(tmp_path_factory.mktemp("forged-ip")),
        TRUSTED_PROXY_HEADER="X-Forwarded-For",
        TRUSTED_PROXIES=PROXY,
        INTAKE_PER_IP_PER_HOUR="5",
    ) as started:
        yield started


def test_forged_forwarded_for_against_the_running_api(deployment: Any) -> None:
    forged = forged_values()
    url = deployment.url.replace("localhost", "127.0.0.1") + "/api/v1/leads"
    with httpx.Client(timeout=30) as http:
        codes = [
            http.post(
                url, json=GOOD, headers={"X-Forwarded-For": through_proxy(next(forged), "203.0.113.70")}
            ).status_code
            for _ in range(6)
        ]
    assert codes == [201] * 5 + [429]


NAMESPACE = "/_event"


class RequestTab:
    """The request form's page as its browser holds it: one socket.io connection to the Reflex backend, which
    sends its events and collects the state updates it gets back."""

    def __init__(self, base_url: str, forwarded_for: str) -> None:
        from leadapp.pages.consumer.request import RequestState

        self.state = RequestState.get_full_name()
        self.updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        # Reflex's socket.io path and namespace are both `/_event`; the tab's token is in the query string.
        self.sio.on("event", self._update, namespace=NAMESPACE)
        self.sio.connect(
            f"{base_url}?token={uuid.uuid4()}",
            namespaces=[NAMESPACE],
            socketio_path=NAMESPACE,
            transports=["websocket"],
            headers={"X-Forwarded-For": forwarded_for},
            wait_timeout=20,
        )
        assert self.sio.connected

    def _update(self, data: Any) -> None:
        with self.lock:
            self.updates.append(data if isinstance(data, dict) else json.loads(data))

    def submit(self, form: dict[str, str], seconds: float = 30) -> dict[str, Any]:
        """Send the form's submit event; the state of this page after the server answered."""
        self.sio.emit(
            "event",
            {
                "name": f"{self.state}.submit",
                "payload": {"form_data": form},
                "router_data": {"pathname": "/request", "asPath": "/request"},
            },
            namespace=NAMESPACE,
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                for update in self.updates:
                    mine = update.get("delta", {}).get(self.state, {})
                    if mine.get("errors_rx_state_") or mine.get("lead_id_rx_state_"):
                        return mine
            time.sleep(0.1)
        raise AssertionError(f"no answer to the submit within {seconds} s: {self.updates!r}")

    def close(self) -> None:
        self.sio.disconnect()


def test_forged_forwarded_for_over_a_socket_io_client(deployment: Any) -> None:
    forged = forged_values()
    base = deployment.url.replace("localhost", "127.0.0.1")
    answers = []
    for _ in range(6):
        # A new connection (a new tab) for every submission, each with a new forged header.
        tab = RequestTab(base, through_proxy(next(forged), "203.0.113.71"))
        try:
            answers.append(tab.submit(GOOD))
        finally:
            tab.close()
    accepted = [a for a in answers if a.get("lead_id_rx_state_")]
    assert len(accepted) == 5, answers
    refusal = json.dumps(answers[-1].get("errors_rx_state_", {}))
    assert "Too many requests" in refusal, answers[-1]


def test_leads_from_phone_calls_have_no_ip_and_are_not_counted_as_one(app_env: dict[str, str]) -> None:
    """A call has no client IP (Twilio signed it; the line's own limits apply): the bucket "unknown" that stops
    anonymous web clients after five must not stop the sixth caller of the hour."""
    from leadapp.core import rls
    from leadapp.core.db import session_scope
    from leadapp.core.services import intake
    from leadapp.core.vocab import LeadSource

    for n in range(6):
        with session_scope(rls.system("test: the bridge turning a call into a lead")) as session:
            accepted = intake.submit(
                session,
                intake.Submission(
                    text=GOOD["text"],
                    zip="46032",
                    phone=f"(317) 846-22{n:02d}",
                    preferred_contact="phone",
                    source=LeadSource.PHONE.value,
                ),
            )
        assert accepted.created, n
