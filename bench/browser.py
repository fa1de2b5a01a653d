"""Chromium for the browser benchmarks: the browser suite's, with its pages never slowed down in the background."""

from __future__ import annotations

from tests.e2e.chromium import ARGS as BROWSER_ARGS
from tests.e2e.chromium import CHROMIUM

__all__ = ["ARGS", "CHROMIUM", "SEEN_ROWS_JS", "login"]

# The suite's flags, and no slowing down of pages in the background: a benchmark's tabs are all "in front".
ARGS = [
    *BROWSER_ARGS,
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

# Records, in each page, when each lead row is first seen (Date.now(), ms) — read back after the run.
SEEN_ROWS_JS = """
(() => {
  window.__seen = {};
  const scan = () => {
    for (const el of document.querySelectorAll('.lead-row')) {
      const id = el.getAttribute('data-lead');
      if (id && !(id in window.__seen)) window.__seen[id] = Date.now();
    }
  };
  // React reuses row elements (rows are keyed by position), so a new lead may only change attributes.
  new MutationObserver(scan).observe(document.documentElement,
    {childList: true, subtree: true, attributes: true, attributeFilter: ['data-lead']});
  scan();
})();
"""


def login(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.locator("#field-email").fill(email)
    page.locator("#field-password").fill(password)
    page.locator("#login-submit").click()
