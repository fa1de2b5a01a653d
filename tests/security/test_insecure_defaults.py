"""Insecure defaults in production (issue 11, item 10), written as the attack: a deployment that forgot a setting.

The development SECRET_KEY is published in this repository (whoever reads it forges login, tracking and reset
links), SEED_DEMO creates an admin with a published password, and Twilio without its auth token checks no
webhook signature. With ENVIRONMENT=production every program refuses to start while any of them is left so,
and says which setting and how to fix it. Each program is started for real, as `make run` starts it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from leadapp.core.settings import DEFAULT_SECRET_KEY, ROOT, Settings
from tests.integration.programs import program_env, unused_port

PROGRAMS = {
    "web": ["-c", "import leadapp.leadapp"],  # what the Reflex backend (and its build) imports first
    "worker": ["-m", "worker", "--workers", "1"],
    "voice bridge": ["-m", "voice_bridge", "--port", "{port}"],
    "launcher": ["-m", "leadapp.launch", "--no-web"],
}
START_TIMEOUT = 90

FORGOTTEN = {
    "SECRET_KEY": ("SECRET_KEY", DEFAULT_SECRET_KEY),
    "SEED_DEMO": ("SEED_DEMO", "true"),
    "TWILIO_AUTH_TOKEN": ("TWILIO_AUTH_TOKEN", ""),
}


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A production deployment done right, then `overrides` (what the operator forgot)."""
    env = program_env(
        ENVIRONMENT="production",
        SECRET_KEY="a-long-random-production-secret-0123456789abcdef",
        SEED_DEMO="false",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="twilio-auth-token",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}",
        REDIS_URL=f"redis://127.0.0.1:{unused_port()}/0",
        VOICE_BRIDGE_PORT=str(unused_port()),
    )
    env.update(overrides)
    return env


def start(program: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the program until it exits; one that is still running after START_TIMEOUT is stopped (it started)."""
    args = [arg.replace("{port}", str(unused_port())) for arg in PROGRAMS[program]]
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{program} started in production with an insecure setting:\n{out[-3000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


@pytest.mark.parametrize("program", list(PROGRAMS))
@pytest.mark.parametrize("forgotten", list(FORGOTTEN))
def test_a_production_program_refuses_an_insecure_setting_and_names_it(
    tmp_path: Path, program: str, forgotten: str
) -> None:
    name, value = FORGOTTEN[forgotten]
    done = start(program, production_env(tmp_path, **{name: value}))
    assert done.returncode != 0, done.stdout
    assert "refuses to start with ENVIRONMENT=production" in done.stdout, done.stdout
    assert forgotten in done.stdout, done.stdout
    # The fix is in the message too, and nothing else is complained about.
    assert f"Set {forgotten}" in done.stdout, done.stdout
    assert done.stdout.count("\n  - ") == 1, done.stdout


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    forgotten = {"secret_key": DEFAULT_SECRET_KEY, "seed_demo": True, "twilio_account_sid": "AC1"}
    settings = Settings(_env_file=None, environment="production", **forgotten)
    problems = settings.production_problems()
    assert [p.split(" ", 1)[0] for p in problems] == ["SECRET_KEY", "SEED_DEMO", "TWILIO_ACCOUNT_SID"]


def test_the_same_settings_are_fine_outside_production() -> None:
    for environment in ("development", "test"):
        settings = Settings(_env_file=None, environment=environment, secret_key=DEFAULT_SECRET_KEY, seed_demo=True)
        assert settings.production_problems() == []


def test_a_production_deployment_done_right_has_nothing_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in production_env(tmp_path).items():
        if key.isupper() and key in {name.upper() for name in Settings.model_fields}:
            monkeypatch.setenv(key, value)
    assert Settings(_env_file=None).production_problems() == []


def test_a_short_inbound_email_secret_is_refused_in_production() -> None:
    """The secret in the Inbound Parse URL is what keeps forged replies out of conversations: a guessable one is
    refused; none at all is fine (the route then refuses every post)."""
    short = Settings(
        _env_file=None, environment="production", secret_key="k" * 48, seed_demo=False, inbound_email_secret="parse"
    )
    assert [p.split(" ", 1)[0] for p in short.production_problems()] == ["INBOUND_EMAIL_SECRET"]
    for fine in ("", "x" * 32):
        settings = Settings(
            _env_file=None, environment="production", secret_key="k" * 48, seed_demo=False, inbound_email_secret=fine
        )
        assert settings.production_problems() == []


def test_half_a_bucket_key_is_refused_in_production() -> None:
    """An S3 key id without its secret (or the reverse) would refuse every photo: the deployment is refused first,
    without quoting the secret."""
    base = {"_env_file": None, "environment": "production", "secret_key": "k" * 48, "seed_demo": False}
    bucket = {"attachments_s3_bucket": "leadapp-photos"}
    for half in ({"attachments_s3_access_key_id": "AKIAONLYTHEID"}, {"attachments_s3_secret_access_key": "s" * 40}):
        problems = Settings(**base, **bucket, **half).production_problems()  # type: ignore[arg-type]
        assert [p.split(" ", 1)[0] for p in problems] == ["ATTACHMENTS_S3_ACCESS_KEY_ID"]
        assert "s" * 40 not in problems[0]
    whole = {"attachments_s3_access_key_id": "AKIAKEY", "attachments_s3_secret_access_key": "s" * 40}
    for fine in ({}, bucket, {**bucket, **whole}):
        assert Settings(**base, **fine).production_problems() == []  # type: ignore[arg-type]
