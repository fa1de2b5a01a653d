"""Schemathesis against the public API's own OpenAPI document (`/api/v1/openapi.json`), in process (ASGI).

Every operation gets schema-valid requests (positive) and requests that break the schema (negative), a bounded
number each; every answer must be no 5xx and match the document: a declared status, its content type, its body
schema (`ApiError` for every refusal). Then the stateful run follows the document's links (a lead's retry with the
same Idempotency-Key) and checks the same of every step.

Runs on SQLite and on PostgreSQL, with the real Redis (the private test one); the per-IP limit is raised so that
generated requests reach past the rate limiter (its 429 is tested in test_leads_api).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, delete

from leadapp.core.db import get_engine
from leadapp.core.models import Lead
from tests.conftest import clear_app_caches

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 20


@pytest.fixture
def fuzz_env(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("INTAKE_PER_IP_PER_HOUR", "100000")
    clear_app_caches()
    yield app_env


def load_schema() -> schemathesis.BaseSchema:
    """The document as the app serves it (the schema does not depend on the database: loaded once, at import)."""
    from leadapp.api.app import OPENAPI_URL, api

    loaded = schemathesis.openapi.from_asgi(OPENAPI_URL, api)
    loaded.config.generation.update(max_examples=EXAMPLES, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return loaded


REAL_REQUEST = {
    "text": "The kitchen sink drains slowly and the disposal hums, need a plumber this week please",
    "zip": "46032",
    "email": "fuzz@example.com",
    "preferred_contact": "email",
}


def realistic_bodies(loaded: schemathesis.BaseSchema) -> schemathesis.BaseSchema:
    """Two thirds of the generated lead bodies get a real description, ZIP and email (the other fields stay
    generated): random text is almost never ten words about a real ZIP, and the stateful run must reach past
    validation to follow a made lead's links."""

    @loaded.hook
    def map_body(context: schemathesis.HookContext, body: object) -> object:
        if context.operation.path != "/api/v1/leads" or not isinstance(body, dict):
            return body
        if len(str(body.get("text", ""))) % 3 == 0:
            return body
        return {**body, **REAL_REQUEST}

    return loaded


# (schemathesis.pytest.from_fixture would load it per test, but its lazy loader does not run on pytest 9.)
schema = load_schema()
# The stateful run walks the lead's links (its retry with the same Idempotency-Key); the other operations are
# fuzzed above, and drawing them here too left the derandomized scenarios no step to follow the link.
stateful_schema = realistic_bodies(load_schema()).include(operation_id="create_lead")


def test_the_document_is_served_and_declares_every_error():
    """The document is reachable at its address, and every 4xx/5xx of every operation has the ApiError body."""
    from starlette.testclient import TestClient

    from leadapp.api.app import OPENAPI_URL, api

    with TestClient(api) as client:
        document = client.get(OPENAPI_URL).json()
    assert document["components"]["schemas"]["ApiError"]["required"] == ["error", "message"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    body = answer["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/ApiError"}, (method, path, status)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES)
def test_every_operation_answers_as_documented(fuzz_env: dict[str, str], case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


@pytest.mark.parametrize("any_db_url", ["sqlite"], indirect=True)
def test_stateful_runs_follow_the_links(fuzz_env: dict[str, str]) -> None:
    """Sequences of calls built from the document's links (a lead, then its retry with the same Idempotency-Key):
    every step answers as documented, and a key that made a lead always answers that same lead."""
    made: dict[str, int] = {}
    reached = 0
    replays: list[str] = []

    class Scenario(stateful_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            made.clear()

        def teardown(self) -> None:
            # Each scenario starts from an empty table: hypothesis replays scenarios, and a key an earlier one
            # used would answer differently (200, not 201) and change which links can be followed.
            nonlocal reached
            reached += len(made)
            with Session(get_engine()) as session:
                session.exec(delete(Lead))
                session.commit()

        def after_call(self, response, case):  # type: ignore[no-untyped-def]
            super().after_call(response, case)
            key = (case.headers or {}).get("Idempotency-Key")
            if case.operation.path != "/api/v1/leads" or not key or response.status_code not in (200, 201):
                return
            lead_id = response.json()["id"]
            assert made.setdefault(key, lead_id) == lead_id, f"Idempotency-Key {key!r} made two leads"
            if response.status_code == 200:
                assert response.json()["created"] is False
                replays.append(key)

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    # Derandomized: the same scenarios every run, so the two coverage checks below hold or fail every time
    # (with random scenarios, about one run in ten followed no retry link and failed for nothing).
    Scenario.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    assert reached, "no run reached a lead made with an Idempotency-Key"
    assert replays, "no run followed the link to retry a lead with its Idempotency-Key"
