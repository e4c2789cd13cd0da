"""End to end in headless Chromium (Selenium + Debian's chromedriver), at phone width, against the real stack:
Postgres + `node migrate.mjs` + the standalone frontend + the real backend (uvicorn, AUTH_MODE=jwks).

sign up -> "add buy milk" in the chat -> the task shows in the list -> sign out ->
a second user signs up and does not see it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
WAIT = 30


@pytest.fixture()
def browser(logdir):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the browser test needs Selenium: pip install -r app/frontend/tests/requirements.txt",
                    pytrace=False)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} missing: apt-get install chromium chromium-driver", pytrace=False)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download anything
    profile = tempfile.mkdtemp(prefix="todo-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
                "--window-size=390,844"):  # a phone-width screen
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(logdir / "chromedriver.log")),
                              options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, cond, what: str, timeout: float = WAIT):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(cond)
    except TimeoutException:
        body = driver.find_element("tag name", "body").text[:2000]
        raise AssertionError(f"timed out waiting for {what} at {driver.current_url}; page text:\n{body}") from None


def _css(driver, selector):
    return driver.find_elements("css selector", selector)


def _task_titles(driver) -> list[str]:
    return [el.text for el in _css(driver, "[data-testid=task-item] [data-testid=task-title]")]


def _sign_up(driver, base: str, name: str) -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.test"
    driver.get(f"{base}/signup")
    _wait(driver, lambda d: _css(d, "#signup-submit"), "the sign-up form")
    _css(driver, "#name")[0].send_keys(name)
    _css(driver, "#email")[0].send_keys(email)
    _css(driver, "#password")[0].send_keys("correct-horse-9")
    _css(driver, "#signup-submit")[0].click()
    _wait(driver, lambda d: d.current_url.endswith("/chat") and _css(d, "#chat-input"), "the chat page after sign-up")
    _wait(driver, lambda d: _css(d, "#task-list[data-loaded=true]"), "the task list to load")
    return email


def test_signup_chat_add_task_then_isolation(stack, browser, logdir):
    base = stack.frontend.url
    d = browser

    # user 1: sign up, ask the assistant to add a task
    _sign_up(d, base, "Alice")
    assert _task_titles(d) == []
    _css(d, "#chat-input")[0].send_keys("add buy milk")
    _css(d, "#chat-send")[0].click()
    _wait(d, lambda d: _css(d, "[data-testid=chat-message-assistant]") or _css(d, "#chat-error"),
          "the assistant's answer")
    assert not _css(d, "#chat-error"), _css(d, "#chat-error")[0].text
    reply = _css(d, "[data-testid=chat-message-assistant]")[0].text
    assert "milk" in reply.lower(), reply
    # the list beside the chat refreshes after the tool call
    _wait(d, lambda d: any("buy milk" in t.lower() for t in _task_titles(d)), "'buy milk' in the chat page's list")
    d.save_screenshot(str(logdir / "chat-phone.png"))

    # the tasks page shows it too; complete toggle works
    _css(d, "#nav-tasks")[0].click()
    _wait(d, lambda d: d.current_url.endswith("/tasks") and any("buy milk" in t.lower() for t in _task_titles(d)),
          "'buy milk' on the tasks page")
    items = _css(d, "[data-testid=task-item]")
    assert len(items) == 1
    items[0].find_element("css selector", "[data-testid=task-toggle]").click()
    _wait(d, lambda d: _css(d, "[data-testid=task-item][data-completed=true]"), "the task to be completed")
    d.save_screenshot(str(logdir / "tasks-phone.png"))

    # add one by hand, then delete it
    _css(d, "#task-title")[0].send_keys("walk the dog")
    _css(d, "#task-add")[0].click()
    _wait(d, lambda d: len(_css(d, "[data-testid=task-item]")) == 2, "the hand-added task")
    dog = next(el for el in _css(d, "[data-testid=task-item]") if "dog" in el.text)
    dog.find_element("css selector", "[data-testid=task-delete]").click()
    _wait(d, lambda d: len(_css(d, "[data-testid=task-item]")) == 1, "the deleted task to go")

    # sign out
    _css(d, "#signout")[0].click()
    _wait(d, lambda d: d.current_url.endswith("/signin") and _css(d, "#signin-submit"), "the sign-in page")
    d.get(f"{base}/tasks")
    _wait(d, lambda d: d.current_url.endswith("/signin"), "a signed-out visit to /tasks to go to sign-in")

    # user 2 does not see user 1's task
    _sign_up(d, base, "Bob")
    assert _task_titles(d) == []
    d.get(f"{base}/tasks")
    _wait(d, lambda d: _css(d, "#task-list[data-loaded=true]") and _css(d, "#task-empty"), "Bob's empty list")
    assert _task_titles(d) == []


def test_api_isolation_through_the_proxy(stack):
    """Through the frontend: a user's JWT cannot read another user's tasks; the backend serves the calls."""
    base = stack.frontend.url

    def user(name):
        c = httpx.Client(base_url=base, timeout=30)
        r = c.post("/api/auth/sign-up/email", json={"name": name, "email": f"{name}-{uuid.uuid4().hex[:8]}@example.test",
                                                    "password": "correct-horse-9"})
        assert r.status_code == 200, r.text
        return c, r.json()["user"]["id"]

    (a, a_id), (b, b_id) = user("carol"), user("dave")
    r = a.post(f"/api/{a_id}/tasks", json={"title": "secret plan"})
    assert r.status_code == 201, r.text
    assert r.headers.get("x-served-by"), "the backend's X-Served-By must pass through"
    assert [t["title"] for t in a.get(f"/api/{a_id}/tasks").json()] == ["secret plan"]
    assert b.get(f"/api/{b_id}/tasks").json() == []
    assert b.get(f"/api/{a_id}/tasks").status_code in (401, 403, 404)
    assert httpx.get(f"{base}/api/{a_id}/tasks").status_code == 401  # no session, no token

    # a Bearer token from /api/auth/token works without the cookie, as for an API client
    token = a.get("/api/auth/token").json()["token"]
    r = httpx.get(f"{base}/api/{a_id}/tasks", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()[0]["title"] == "secret plan"

    r = httpx.get(f"{base}/api/backend-health")
    assert r.status_code == 200, r.text
