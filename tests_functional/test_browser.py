"""SC-5 as a person sees it: headless Chromium through the NodePort — sign up, chat adds a task, the task is listed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from deployproof.browser import chromium, wait_for

pytestmark = [pytest.mark.deploy, pytest.mark.functional, pytest.mark.criterion("SC-5")]


def _css(driver, selector):
    return driver.find_elements("css selector", selector)


def _titles(driver) -> list[str]:
    return [el.text for el in _css(driver, "[data-testid=task-item] [data-testid=task-title]")]


def test_sign_up_then_chat_adds_a_visible_task(app_ready, request, figures):
    shots = Path(request.config.rootpath) / "reports" / "screenshots"
    with chromium(shots) as driver:
        driver.get(f"{app_ready}/signup")
        wait_for(driver, lambda d: _css(d, "#signup-submit"), "the sign-up form")
        _css(driver, "#name")[0].send_keys("Carol")
        _css(driver, "#email")[0].send_keys(f"carol-{uuid.uuid4().hex[:8]}@example.test")
        _css(driver, "#password")[0].send_keys(f"pw-{uuid.uuid4().hex}")
        _css(driver, "#signup-submit")[0].click()
        wait_for(driver, lambda d: d.current_url.endswith("/chat") and _css(d, "#task-list[data-loaded=true]"), "the chat page")
        assert _titles(driver) == []
        _css(driver, "#chat-input")[0].send_keys("add water the ferns")
        _css(driver, "#chat-send")[0].click()
        wait_for(driver, lambda d: _css(d, "[data-testid=chat-message-assistant]") or _css(d, "#chat-error"), "the assistant's answer")
        assert not _css(driver, "#chat-error"), _css(driver, "#chat-error")[0].text
        wait_for(driver, lambda d: any("water the ferns" in t.lower() for t in _titles(d)), "the new task in the list")
        driver.save_screenshot(str(shots / "deployed-chat-phone.png"))
        _css(driver, "#nav-tasks")[0].click()
        wait_for(driver, lambda d: d.current_url.endswith("/tasks") and any("water the ferns" in t.lower() for t in _titles(d)),
                 "the task on the tasks page")
    figures["screenshot"] = "reports/screenshots/deployed-chat-phone.png"
