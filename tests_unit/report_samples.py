"""A run's report as the plugin leaves it, for the HTML page's tests: records judged by the real Report,
plots as real PNG files, a diagnostics folder, a preflight table, and hostile strings where a run's own
text goes (a failure reason, a figure, a preflight result, the first reading)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from deployproof.report import Report

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
_DEPLOYMENT = "tests_deploy/test_deployment.py::"
_HPA = "tests_resilience/test_hpa.py::test_backend_hpa_scales_out_under_load_spreads_requests_and_scales_back_in"
_LOAD = "tests_resilience/test_load.py::test_step_load_records_throughput_latency_and_the_knee"


def png(path: Path, width: int = 64, height: int = 32, rgb: tuple[int, int, int] = (9, 105, 218)) -> Path:
    """A real PNG of one colour (what matplotlib would have written; the page only needs valid bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def sample_report(root: Path, *, plots: bool = True) -> tuple[Report, Path]:
    """A failed run in `root` (its cwd): SC-2 failed with a hostile reason, SC-3 passed with an HPA plot (absolute
    path) and a load plot (relative to the cwd), SC-6 passed, the rest unproven. Returns the report and its folder."""
    report_dir = root / "reports"
    report = Report(scope=("SC-2", "SC-3", "SC-6"), settings=["keep=never (--keep)", f"values={HOSTILE} (env)"])
    report.provider = "embedded"
    diagnostics = root / "diagnostics" / "20261130-101010"
    diagnostics.mkdir(parents=True)
    (diagnostics / "reason.txt").write_text("the checks of the deployment failed\n")
    (diagnostics / "diagnosis.txt").write_text(f"HIGH   todo/pod/todo-backend-1: CrashLoopBackOff — {HOSTILE}\n"
                                               "       likely fix: read the previous container's log\n")
    report.context.update({"provider": "embedded", "kubernetes": "v1.37.2", "nodes": "1", "sc6_total_s": "31.5",
                           "app_url": "http://127.0.0.1:30080", "diagnostics": str(diagnostics)})
    report.preflight = [{"check": "server version", "result": "v1.37.2, supported"},
                        {"check": "NetworkPolicy enforcement", "result": HOSTILE, "criterion": "NETPOL"}]
    report.record(f"{_DEPLOYMENT}test_service_types", f"{_DEPLOYMENT}test_service_types", "call", "passed", 0.1)
    node_port = f"{_DEPLOYMENT}test_node_port_serves_the_app_page_and_the_backend_health"
    report.record(node_port, node_port, "call", "failed", 0.2, {"page_ms": 3.9}, f"AssertionError: the page said {HOSTILE}")
    hpa_plot = report_dir / "hpa-scale-out.png"
    load_plot = "reports/load-steps.png"
    if plots:
        png(hpa_plot, 120, 60)
        png(root / load_plot, 100, 50, (26, 127, 55))
    report.record(_HPA, _HPA, "call", "passed", 90.0, {"hpa_scale_out_s": 30.0, "hpa_plot": str(hpa_plot), "note": HOSTILE})
    report.record(_LOAD, _LOAD, "call", "passed", 120.0, {"load_p95_ms": 120.0, "load_plot": load_plot,
                                                          "balance_requests_per_pod": {"todo-backend-a": 319, HOSTILE: 77}})
    sc6 = f"{_DEPLOYMENT}test_deployment_completes_within_ten_minutes"
    report.record(sc6, sc6, "call", "passed", 0.1, {"deploy_total_s": 31.5})
    return report, report_dir


def history_run(stamp: str, provider: str = "embedded", gate: str = "passed", **figures: float) -> dict:
    """A history file's content with some key figures (deploy_total_s, hpa_scale_out_s, backend_service_s, load_p95_ms)."""
    where = {"deploy_total_s": "SC-6", "hpa_scale_out_s": "SC-3", "load_p95_ms": "SC-3", "backend_service_s": "RES",
             "database_service_s": "RES"}
    criteria: dict[str, dict] = {}
    for name, value in figures.items():
        criteria.setdefault(where[name], {"criterion": where[name], "figures": {}})["figures"][name] = value
    return {"generated_at": stamp, "provider": provider, "gate": gate, "context": {}, "criteria": list(criteria.values())}


def write_history(folder: Path, runs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        name = run["generated_at"].replace("-", "").replace(":", "").rstrip("Z")
        (folder / f"success-criteria-{name}.json").write_text(json.dumps(run))
