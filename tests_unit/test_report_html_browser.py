"""report.html in headless Chromium (file://, no server, no cluster): the table and the plots render, hostile text stays text.

Like the project's other browser tests it drives Debian's chromium and chromedriver through Selenium
(deployproof/browser.py) and fails with the install command where they are missing; it needs no
cluster, so it runs with the unit tests (`./dev test` → `pytest tests_unit`).
"""

from __future__ import annotations

import json

from deployproof import report_html
from deployproof.browser import chromium, wait_for
from deployproof.criteria import CRITERIA
from report_samples import HOSTILE, history_run, sample_report, write_history

DESKTOP = "--window-size=1280,1000"


def test_the_page_opens_from_disk_with_its_table_plots_and_trend_rendered(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the load plot is named relative to the run's cwd
    report, report_dir = sample_report(tmp_path)
    write_history(report_dir / "history", [history_run(f"2026-11-29T10:0{m}:00Z", deploy_total_s=30.0 + m, hpa_scale_out_s=15.0,
                                                       load_p95_ms=100.0, backend_service_s=0.2) for m in range(4)])
    page = report.write(report_dir)["html"]

    with chromium(tmp_path / "browser", window=DESKTOP) as driver:
        driver.get(page.as_uri())
        wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")
        assert "gate failed" in driver.title

        rows = driver.find_elements("css selector", "#criteria tbody tr.criterion")
        assert [r.get_attribute("id") for r in rows] == list(CRITERIA)
        assert all(r.is_displayed() and r.size["height"] > 0 for r in rows)
        verdict = driver.find_element("css selector", "tr#SC-2 .verdict")
        assert verdict.text == "failed"
        assert verdict.value_of_css_property("background-color") == "rgba(207, 34, 46, 1)"  # the failed colour applied

        images = wait_for(driver, lambda d: d.execute_script(
            "const imgs = [...document.images];"
            "return imgs.every(i => i.complete) ? imgs.map(i => [i.naturalWidth, i.naturalHeight, i.clientWidth]) : null;"),
            "the plots to decode")
        assert images == [[120, 60, images[0][2]], [100, 50, images[1][2]]] and all(w > 0 for _, _, w in images)

        lines = driver.execute_script("return [...document.querySelectorAll('#trend svg.spark polyline')]"
                                      ".map(l => l.getBBox().width)")
        assert len(lines) == 4 and lines[0] > 0  # deploy time over five runs draws a line

        assert driver.execute_script("return document.scripts.length") == 0
        assert driver.execute_script("return typeof window.pwned") == "undefined"
        body = driver.find_element("tag name", "body").text
        assert HOSTILE in body  # shown as text

        reading = driver.find_element("css selector", "#first-reading")
        assert reading.is_displayed() and "CrashLoopBackOff" in reading.text
        link = driver.find_element("link text", "diagnosis.txt").get_attribute("href")
        assert link == (tmp_path / "diagnostics" / "20261130-101010" / "diagnosis.txt").as_uri()
        assert len(driver.find_elements("css selector", "#preflight tbody tr")) == 2


def test_a_page_with_a_missing_plot_names_it_and_shows_no_broken_image(tmp_path):
    report, report_dir = sample_report(tmp_path, plots=False)
    path = report_html.write(json.loads(json.dumps(report.to_dict(), default=str)), report_dir, base=tmp_path)

    with chromium(tmp_path / "browser", window=DESKTOP) as driver:
        driver.get(path.as_uri())
        assert driver.execute_script("return document.images.length") == 0
        missing = [p.text for p in driver.find_elements("css selector", "#plots .plot-missing")]
        assert len(missing) == 2 and all("the file is not there" in text for text in missing)
