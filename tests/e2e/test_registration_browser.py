"""Headless Chromium fills in the registration form as a new user would."""

from __future__ import annotations

import os
import uuid

import pytest

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="Debian chromium is not installed")


@pytest.fixture()
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    yield driver
    driver.quit()


def test_fill_in_submit_and_see_the_confirmation_then_an_invalid_form_shows_the_german_error(stack, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(stack.url("registration", "/"))
    for field, value in {"first_name": "Bruno", "last_name": "Browser", "email": f"bruno.{uuid.uuid4().hex[:8]}@example.org",
                         "organisation": "IHK zu Essen"}.items():
        browser.find_element(By.ID, field).send_keys(value)
    Select(browser.find_element(By.ID, "actor_group")).select_by_value("chamber")
    Select(browser.find_element(By.ID, "municipality")).select_by_visible_text("Essen")
    Select(browser.find_element(By.NAME, "preference_0")).select_by_value("tf2-ws1")
    browser.find_element(By.NAME, "consent").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert "Vielen Dank für Ihre Anmeldung" in browser.page_source

    browser.get(stack.url("registration", "/"))
    browser.find_element(By.ID, "email").send_keys("keine-adresse")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert browser.find_element(By.CSS_SELECTOR, ".error-summary").is_displayed()
    assert browser.find_element(By.ID, "email-error").text
