"""Ratings are an admin's to set (until verified reviews exist): the admin goes to Businesses through the
navigation, sets a business's rating with its review count (a rating without reviews is refused), and the
owner sees it in their settings, where it cannot be typed."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, login

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"


def test_an_admin_sets_a_rating_and_the_owner_sees_it(browser: Browser, deployment: Deployment):
    admin_context, owner_context = browser.new_context(), browser.new_context()
    admin, owner = admin_context.new_page(), owner_context.new_page()
    for p in (admin, owner):
        p.set_default_timeout(TIMEOUT)
    login(admin, deployment, deployment.admin_email, deployment.admin_password)
    admin.wait_for_url(re.compile(r".*/admin/?$"))
    go_to(admin, "Businesses")
    admin.locator("#businesses-search").fill("Carmel Plumbing")
    admin.locator("#businesses-apply").click()
    row = admin.locator(".business-row", has_text="Carmel Plumbing Co")
    expect(row).to_have_count(1)
    row.get_by_label("Reviews").fill("0")  # a rating nobody gave
    row.locator(".save-rating").click()
    expect(admin.locator("#businesses-error")).to_contain_text("needs the number of reviews")

    rating = f"4.{secrets.randbelow(9) + 1}"
    count = str(200 + secrets.randbelow(100))
    row = admin.locator(".business-row", has_text="Carmel Plumbing Co")
    row.get_by_label("Stars").fill(rating)
    row.get_by_label("Reviews").fill(count)
    row.locator(".save-rating").click()
    expect(admin.locator("#businesses-notice")).to_contain_text(f"rated {rating} from {count} reviews")
    expect(admin.locator("#businesses-error")).to_have_count(0)
    expect(row.get_by_label("Stars")).to_have_value(rating)

    login(owner, deployment, PLUMBER, deployment.consumer_password)
    owner.wait_for_url(re.compile(r".*/dashboard/?$"))
    go_to(owner, "Settings")
    expect(owner.locator("#settings-rating")).to_have_text(f"{rating} from {count} reviews")
    expect(owner.locator("#field-rating")).to_have_count(0)
    admin_context.close()
    owner_context.close()
