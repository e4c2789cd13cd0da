"""Debian's headless Chromium driven by Selenium, for tests that use the app as a person would."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import PrerequisiteError

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
# Quiet, offline-safe flags: no background connections to anything but the page under test.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check")
PHONE = "--window-size=390,844"


@contextlib.contextmanager
def chromium(log_dir: Path, window: str = PHONE) -> Iterator:
    """A Selenium Chrome driver on Debian's chromium (phone-sized window by default)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise PrerequisiteError(f"{path} is missing", "apt-get install chromium chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never try to download a browser
    profile = tempfile.mkdtemp(prefix="deployproof-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, window, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    log_dir.mkdir(parents=True, exist_ok=True)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(log_dir / "chromedriver.log")), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, condition, what: str, timeout: float = 30):
    """Selenium's own wait, failing with what was awaited and the page's text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        body = driver.find_element("tag name", "body").text[:1500]
        raise AssertionError(f"timed out waiting for {what} at {driver.current_url}; page text:\n{body}") from None
