"""report.html: one self-contained page per run, rendered from the report's dict (deployproof/report_html.py).

The browser's view of the same page is tests_unit/test_report_html_browser.py.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from deployproof import report_html
from deployproof.criteria import CRITERIA
from deployproof.report import NOT_REQUIRED, Report
from report_samples import HOSTILE, history_run, sample_report, write_history


class _Page(HTMLParser):
    """The elements of a page, with their attributes and the text inside each section."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def _render(tmp_path: Path, **kwargs) -> tuple[str, dict, Path]:
    report, report_dir = sample_report(tmp_path, **kwargs)
    data = json.loads(json.dumps(report.to_dict(), default=str))
    return report_html.render(data, report_dir=report_dir, history=[data], base=tmp_path), data, report_dir


def test_the_criteria_table_holds_every_criterion_with_its_verdict_claims_figures_and_missing_tests(tmp_path):
    page, data, _ = _render(tmp_path)
    parsed = _Page(page)
    rows = parsed.all("tr", **{"class": "criterion"})
    assert [r["id"] for r in rows] == list(CRITERIA)
    assert 'id="gate" class="verdict failed"' in page
    sc2 = page[page.index('<tr class="criterion" id="SC-2">'):page.index('<tr class="criterion" id="SC-3">')]
    assert '<span class="verdict failed">failed</span>' in sc2
    assert "failed <code>tests_deploy/test_deployment.py::test_node_port_serves_the_app_page_and_the_backend_health</code>" in sc2
    assert "AssertionError: the page said &lt;script&gt;" in sc2  # the failure's reason, escaped
    assert "the frontend is a NodePort, backend and database ClusterIP" in sc2  # a claim, passed
    assert "<b>page_ms</b> = 3.9" in sc2
    sc1 = page[page.index('<tr class="criterion" id="SC-1">'):page.index('<tr class="criterion" id="SC-2">')]
    assert '<span class="verdict unproven">unproven</span>' in sc1 and "out of scope" in sc1
    assert "missing <code>tests_deploy/test_deployment.py::test_helm_test_hook_passes (not run)</code>" in sc1


def test_hostile_strings_are_shown_as_text_never_as_markup(tmp_path):
    page, _, _ = _render(tmp_path)
    parsed = _Page(page)
    assert not parsed.all("script")
    assert all(a.get("src") != "x" and "onerror" not in a for a in parsed.all("img"))
    assert HOSTILE not in page
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 5  # reason, figure, figure key, preflight, first reading, settings: all as text
    policy = parsed.all("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"]
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_plots_are_embedded_and_a_missing_plot_is_named_instead(tmp_path):
    page, _, report_dir = _render(tmp_path)
    images = _Page(page).all("img")
    assert len(images) == 2
    hpa = base64.b64encode((report_dir / "hpa-scale-out.png").read_bytes()).decode()
    load = base64.b64encode((tmp_path / "reports" / "load-steps.png").read_bytes()).decode()  # named relative to the cwd
    assert {i["src"] for i in images} == {f"data:image/png;base64,{hpa}", f"data:image/png;base64,{load}"}
    assert not re.search(r'src="(?!data:)', page)  # nothing fetched from anywhere

    missing, _, _ = _render(tmp_path / "no-plots", plots=False)
    assert not _Page(missing).all("img")
    assert "SC-3 · load_plot · reports/load-steps.png: the file is not there" in missing
    assert "hpa-scale-out.png: the file is not there" in missing


def test_a_run_without_plots_diagnostics_or_preflight_says_so_and_leaves_those_sections_out():
    data = Report(scope=("SC-1",)).to_dict()
    page = report_html.render(data, report_dir=Path("/nonexistent"), history=[], base=Path("/nonexistent"))
    assert "no test of this run recorded a plot" in page
    assert 'id="diagnostics"' not in page and 'id="preflight"' not in page
    assert "no run in the history folder measured one yet" in page


def test_the_preflight_table_has_a_row_per_check_and_a_column_per_field(tmp_path):
    page, _, _ = _render(tmp_path)
    section = page[page.index('<section id="preflight">'):]
    section = section[:section.index("</section>")]
    assert "<th>check</th><th>result</th><th>criterion</th>" in section
    assert section.count("<tr>") == 3  # the header and two checks
    assert "<td>NETPOL</td>" in section
    as_text = report_html.render({"context": {"preflight": "server v1.37.2 <ok>"}}, report_dir=tmp_path, history=[])
    assert '<section id="preflight"><h2>Preflight</h2><pre>server v1.37.2 &lt;ok&gt;</pre>' in as_text


def test_the_diagnostics_folder_is_linked_with_its_first_reading_shown(tmp_path):
    page, _, _ = _render(tmp_path)
    links = {a["href"] for a in _Page(page).all("a")}
    assert {"../diagnostics/20261130-101010", "../diagnostics/20261130-101010/diagnosis.txt",
            "../diagnostics/20261130-101010/reason.txt"} <= links
    reading = page[page.index('<pre id="first-reading">'):]
    assert reading.startswith('<pre id="first-reading">HIGH   todo/pod/todo-backend-1: CrashLoopBackOff — &lt;script&gt;')
    assert "likely fix: read the previous container" in reading[:reading.index("</pre>")]

    gone = report_html.render({"context": {"diagnostics": str(tmp_path / "gone")}}, report_dir=tmp_path, history=[])
    assert "the folder is not on this machine" in gone


def test_the_trend_shows_the_last_runs_on_this_provider_that_measured_a_key_figure(tmp_path):
    history = tmp_path / "history"
    runs = [history_run(f"2026-11-29T10:{m:02d}:00Z", deploy_total_s=30.0 + m, hpa_scale_out_s=15.0, load_p95_ms=100.0 + m,
                        backend_service_s=0.2, database_service_s=5.5) for m in range(12)]
    runs.append(history_run("2026-11-29T11:00:00Z", provider="kind", deploy_total_s=70.0))  # another provider
    runs.append(history_run("2026-11-29T11:01:00Z", gate="failed"))  # measured nothing
    write_history(history, runs)
    (history / "success-criteria-20261129T115959.json").write_text("{not json")
    loaded = report_html.load_history(history)
    assert len(loaded) == 14

    shown = report_html.trend(loaded, "embedded")
    assert [r["generated_at"] for r in shown] == [f"2026-11-29T10:{m:02d}:00Z" for m in range(2, 12)]
    deploy, hpa, recovery, p95 = (f.read(shown[-1]) for f in report_html.KEY_FIGURES)
    assert (deploy, hpa, recovery, p95) == (41.0, 15.0, 5.5, 111.0)  # recovery: the slowest component's

    current = runs[11]
    page = report_html.render({**current, "criteria": current["criteria"]}, report_dir=tmp_path, history=loaded)
    section = page[page.index('<section id="trend">'):]
    assert "the last 10 runs on embedded that measured a key figure" in section
    lines = re.findall(r'<polyline [^>]*points="([^"]+)"', section)
    assert len(lines) == 4 and all(len(points.split()) == 10 for points in lines)
    assert '<tr class="current"><td>2026-11-29T10:11:00Z</td>' in section
    assert "32 – 41" in section  # the deploy time's range over the shown runs


def test_a_sparkline_skips_runs_that_did_not_measure_the_figure():
    svg = report_html.sparkline([1.0, None, 3.0, 2.0])
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 3
    assert report_html.sparkline([None, None]) == ""
    assert "points" in report_html.sparkline([7.0])  # a single run: one point, no division by zero


def test_report_write_puts_the_page_beside_the_json_and_markdown_with_this_run_in_its_trend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report, report_dir = sample_report(tmp_path)
    written = report.write(report_dir)
    assert written["html"] == report_dir / "report.html"
    assert {p.name for p in report_dir.iterdir()} >= {"report.html", "success-criteria.json", "success-criteria.md", "history"}
    page = written["html"].read_text()
    assert '<tr class="current">' in page and len(_Page(page).all("img")) == 2


def test_a_page_is_written_even_when_rendering_fails(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("<b>figures</b>")

    monkeypatch.setattr(report_html, "render", broken)
    path = report_html.write({"gate": "failed"}, tmp_path)
    page = path.read_text()
    assert "the page could not be rendered: KeyError: &#x27;&lt;b&gt;figures&lt;/b&gt;&#x27;" in page
    assert '<a href="success-criteria.json">' in page


def test_claims_are_judged_like_criteria_and_a_claim_of_another_provider_is_not_required():
    report = Report(scope=("CLUSTER",))
    report.provider = "kind"
    report.record("tests_deploy/test_cluster.py::test_node_is_ready", "tests_deploy/test_cluster.py::test_node_is_ready",
                  "call", "passed")
    claims = {c["text"]: c["verdict"] for c in report.to_dict()["criteria"][0]["claims"]}
    assert claims["node Ready, API server ready, the pinned version"] == "partial"
    assert claims["metrics API and HPA see CPU use"] == "unproven"
    assert claims["the embedded cluster's lifecycle: reuse, clean down, crash recovery"] == NOT_REQUIRED


def test_a_failed_deploy_run_writes_the_page_with_the_reason(pytester: pytest.Pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests_deploy"]\n')
    pytester.mkdir("tests_deploy")
    (pytester.path / "tests_deploy" / "test_deployment.py").write_text(textwrap.dedent("""
        import pytest

        def test_service_types():
            pytest.skip("<script>alert(1)</script>")

        def test_node_port_serves_the_app_page_and_the_backend_health():
            assert False
    """))
    result = pytester.runpytest_subprocess("--criteria", "SC-2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*report: reports/report.html*"])
    page = (pytester.path / "reports" / "report.html").read_text()
    assert 'id="gate" class="verdict failed"' in page
    assert "failed <code>tests_deploy/test_deployment.py::test_node_port_serves_the_app_page_and_the_backend_health</code>" in page
    assert "(skipped: &lt;script&gt;alert(1)&lt;/script&gt;)" in page and "<script>" not in page


def test_the_history_folder_keeps_only_the_newest_runs(tmp_path):
    from deployproof.report import prune_history

    for stamp in ("20261101T000000", "20261102T000000", "20261103T000000"):
        (tmp_path / f"success-criteria-{stamp}.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a run")  # not ours to delete
    deleted = prune_history(tmp_path, keep=2)
    assert [p.name for p in deleted] == ["success-criteria-20261101T000000.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt", "success-criteria-20261102T000000.json", "success-criteria-20261103T000000.json"]


def test_failures_name_each_failed_test_with_its_message():
    from deployproof.report import Report

    report = Report()
    report.record("t.py::test_ok", "t.py::test_ok", "call", "passed")
    report.record("t.py::test_bad", "t.py::test_bad", "call", "failed", message="ReadTimeout: timed out (at t.py:9)")
    report.record("t.py::test_teardown", "t.py::test_teardown", "call", "passed")
    report.record("t.py::test_teardown", "t.py::test_teardown", "teardown", "failed")
    assert report.failures() == ["t.py::test_bad: ReadTimeout: timed out (at t.py:9)", "t.py::test_teardown: failed"]
