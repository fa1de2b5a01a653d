"""Scaled out (`make run SCALE=2`: two web backends behind Caddy, page state in Redis), a web backend stopped
under an owner's open dashboard (SIGTERM, as a deploy does) or killed (SIGKILL, as a crash does) takes nothing
from the owner: the tab reconnects to the other backend with its state (the search it had applied), and a lead
that arrives afterwards appears in it live, without a reload. One backend is stopped, then the other killed (the
launcher starts each again), so whichever one held the tab's socket, it had to move, at least once from a
backend that left its link to the tab behind in Redis."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

import httpx
import psutil
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, login, new_marker, path_re

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"
RESTART_SECONDS = 180  # a Reflex backend's start on a loaded 2-core machine


def _backends(deployment: Deployment) -> dict[int, psutil.Process]:
    """The running web backends, by port (the launcher's children started with `--backend-only`)."""
    found: dict[int, psutil.Process] = {}
    for child in psutil.Process(deployment.launcher_pid).children():
        with contextlib.suppress(psutil.Error):
            argv = child.cmdline()
            if child.status() != psutil.STATUS_ZOMBIE and "--backend-only" in argv:
                found[int(argv[argv.index("--backend-port") + 1])] = child
    return found


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _submit(deployment: Deployment, text: str) -> None:
    reply = httpx.post(
        f"{deployment.url}/api/v1/leads", json={"text": text, "zip": "46032", "email": "casey@example.com"}, timeout=20
    )
    assert reply.status_code == 201, reply.text


def _stop_and_wait_for_restart(deployment: Deployment, port: int, owner: Page, how: signal.Signals) -> None:
    old = _backends(deployment)[port]
    os.killpg(old.pid, how)  # the backend's whole process group, as a service manager stops it (or a crash)
    deadline = time.monotonic() + RESTART_SECONDS
    while time.monotonic() < deadline:
        new = _backends(deployment).get(port)
        if new is not None and new.pid != old.pid and _answers(port):
            return
        owner.wait_for_timeout(500)  # the page keeps running (and reconnecting) meanwhile
    pytest.fail(f"the web backend on port {port} was not started again within {RESTART_SECONDS} s")


def test_an_open_dashboard_survives_each_web_backend_stopping_in_turn(browser: Browser, deployment: Deployment):
    if not deployment.local or int(os.environ.get("E2E_SCALE", "1")) < 2:
        pytest.skip("stops web backends of the local scaled-out stack (E2E_SCALE=2)")
    marker = new_marker()
    owner = browser.new_context().new_page()
    owner.set_default_timeout(TIMEOUT)
    login(owner, deployment, PLUMBER, deployment.consumer_password)
    owner.wait_for_url(path_re(deployment, "/dashboard"))
    expect(owner.locator("#inbox-count")).to_be_visible()
    # State the server keeps for this tab: a search nothing matches yet.
    owner.locator("#filter-search").fill(marker)
    owner.locator("#filter-apply").click()
    expect(owner.locator(".lead-row")).to_have_count(0)
    expect(owner.locator("#inbox-count")).to_have_text(re.compile(r"· 0 leads$"))

    # A lead the search does not match: a tab that lost its search would list it.
    _submit(deployment, "The bathroom sink drains slowly and gurgles, need a plumber next week")
    expect(owner.locator("#inbox-count")).to_have_text(re.compile(r"· 0 leads$"))

    ports = sorted(_backends(deployment))
    assert len(ports) == 2, ports
    # The first is stopped (SIGTERM), the second killed (SIGKILL: it deletes nothing on its way out). Whichever
    # held the tab's socket at first, the tab is on the second when it is killed.
    for port, how in zip(ports, (signal.SIGTERM, signal.SIGKILL), strict=True):
        _stop_and_wait_for_restart(deployment, port, owner, how)

    _submit(deployment, f"The kitchen faucet leaks at the base and the cabinet below is wet, need a plumber ({marker})")
    # Live, through whichever backend now holds the socket, filtered by the search the tab applied before.
    expect(owner.locator(".lead-row", has_text=marker)).to_be_visible(timeout=30_000)
    expect(owner.locator(".lead-row")).to_have_count(1)
    expect(owner.locator("#filter-search")).to_have_value(marker)
    owner.context.close()
