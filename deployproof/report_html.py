"""One self-contained HTML page per run (reports/report.html): what a person opens to see how a run went.

Rendered from the report's dict (deployproof/report.py `Report.to_dict`) with the standard library
only: the criteria table (verdict, claims, figures, failed and missing tests), the plots the tests
recorded as figures, embedded as data: URIs, the preflight table when there is one, the diagnostics
folder and its first reading, and the trend of the last runs' key figures from the history folder as
inline SVG. Nothing is fetched and nothing runs: every text is escaped (test names, reasons and
figures may hold hostile strings) and the page's Content-Security-Policy allows no script and no
resource but inline styles and data: images.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import quote

FILE_NAME = "report.html"
TREND_RUNS = 10
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml"}
IMAGE_MAX_BYTES = 8 * 1024 * 1024  # larger files are linked, not embedded
FIRST_READING_LINES = 40
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _e(value: object) -> str:
    """Escaped text for an element's content or a quoted attribute."""
    return escape(_plain(value), quote=True)


def _plain(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _href(target: Path, report_dir: Path) -> str:
    """A link from the page to a file or folder: relative when it can be (the folders travel together)."""
    try:
        return quote(Path(os.path.relpath(target, report_dir)).as_posix())
    except ValueError:  # another drive
        return target.resolve().as_uri()


# --- key figures and their trend over the history folder ---------------------------------------------

def _figure(data: dict, criterion: str, name: str) -> object:
    for entry in data.get("criteria", []):
        if entry.get("criterion") == criterion:
            return entry.get("figures", {}).get(name)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _deploy_s(data: dict) -> float | None:
    measured = _number(_figure(data, "SC-6", "deploy_total_s"))
    return measured if measured is not None else _number(data.get("context", {}).get("sc6_total_s"))


def _recovery_s(data: dict) -> float | None:
    values = [_number(_figure(data, "RES", f"{component}_service_s")) for component in ("backend", "frontend", "database")]
    measured = [v for v in values if v is not None]
    return max(measured) if measured else None


@dataclass(frozen=True)
class KeyFigure:
    label: str
    unit: str
    read: Callable[[dict], float | None]


KEY_FIGURES = (
    KeyFigure("deploy (SC-6)", "s", _deploy_s),
    KeyFigure("HPA scale-out (SC-3)", "s", lambda d: _number(_figure(d, "SC-3", "hpa_scale_out_s"))),
    KeyFigure("pod-kill recovery, slowest (RES)", "s", _recovery_s),
    KeyFigure("load p95 (SC-3)", "ms", lambda d: _number(_figure(d, "SC-3", "load_p95_ms"))),
)


def load_history(folder: Path) -> list[dict]:
    """Every run in the history folder, oldest first (files are named by time); unreadable files are left out."""
    runs = []
    for path in sorted(folder.glob("success-criteria-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            runs.append({**data, "_file": path.name})
    return runs


def trend(history: Iterable[dict], provider: str | None, limit: int = TREND_RUNS) -> list[dict]:
    """The last `limit` runs on this provider that measured any key figure, oldest first."""
    runs = [run for run in history if provider is None or run.get("provider") == provider]
    measured = [run for run in runs if any(f.read(run) is not None for f in KEY_FIGURES)]
    return measured[-limit:]


def sparkline(values: list[float | None], width: int = 180, height: int = 40) -> str:
    """An inline SVG line over the values (None: a run that did not measure it)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span = (high - low) or 1.0
    step = (width - 8) / max(len(values) - 1, 1)
    xy = [(4 + i * step, height - 4 - (v - low) / span * (height - 8)) for i, v in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{_e(v)}</title></circle>'
                   for (x, y), (_, v) in zip(xy, points))
    return (f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="trend from {_e(low)} to {_e(high)}">'
            f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>{dots}</svg>')


# --- sections ------------------------------------------------------------------------------------------

_CLAIM_MARK = {"passed": "✓", "failed": "✗", "partial": "◐", "unproven": "…", "not required": "–"}


def _figures_list(figures: dict) -> str:
    if not figures:
        return '<span class="none">none</span>'
    items = "".join(f"<li><b>{_e(k)}</b> = {_e(v)}</li>" for k, v in figures.items())
    return f'<ul class="figures">{items}</ul>'


def _failures(entry: dict) -> str:
    lines = []
    messages: dict[str, list[str]] = {}
    for record in entry.get("evidence", []):
        if "failed" in record.get("phases", {}).values():
            messages.setdefault(record.get("key", ""), []).append(f"{record.get('nodeid', '')}: {record.get('message', '')}")
    for test in entry.get("failed", []):
        detail = "".join(f"<div class=\"why\">{_e(m)}</div>" for m in messages.get(test, []))
        lines.append(f'<li class="failed">failed <code>{_e(test)}</code>{detail}</li>')
    for test in entry.get("missing", []):
        lines.append(f'<li class="missing">missing <code>{_e(test)}</code></li>')
    if not lines:
        return '<span class="none">none</span>'
    if not entry.get("in_scope", True):  # they do not decide this run's gate: folded away
        return f"<details><summary>{len(lines)} failed or missing (out of scope)</summary><ul>{''.join(lines)}</ul></details>"
    return f"<ul>{''.join(lines)}</ul>"


def _claims(entry: dict) -> str:
    claims = entry.get("claims") or []
    if not claims:
        return f"{len(entry.get('required', []))} required tests"
    items = "".join(f'<li class="{_e(str(c.get("verdict", "")).replace(" ", "-"))}" title="{_e(c.get("verdict", ""))}">'
                    f'{_CLAIM_MARK.get(c.get("verdict", ""), "?")} {_e(c.get("text", ""))}</li>' for c in claims)
    return f'<ul class="claims">{items}</ul>'


def _criteria_table(data: dict) -> str:
    rows = []
    for entry in data.get("criteria", []):
        verdict = str(entry.get("verdict", ""))
        scope = "" if entry.get("in_scope", True) else '<div class="none">out of scope</div>'
        rows.append(
            f'<tr class="criterion" id="{_e(entry.get("criterion", ""))}">'
            f'<th scope="row">{_e(entry.get("criterion", ""))}<div class="description">{_e(entry.get("description", ""))}</div></th>'
            f'<td><span class="verdict {_e(verdict)}">{_e(verdict)}</span>{scope}</td>'
            f'<td class="claims-cell">{_claims(entry)}</td><td>{_figures_list(entry.get("figures", {}))}</td>'
            f'<td class="tests-cell">{_failures(entry)}</td></tr>')
    return ('<table id="criteria"><thead><tr><th>criterion</th><th>verdict</th><th>claims</th><th>figures</th>'
            f'<th>failed and missing tests</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _image_paths(data: dict) -> list[tuple[str, str, str]]:
    """(criterion, figure name, path) of every figure that names an image file."""
    found = []
    for entry in data.get("criteria", []):
        for name, value in entry.get("figures", {}).items():
            if isinstance(value, str) and Path(value).suffix.lower() in IMAGE_TYPES:
                found.append((str(entry.get("criterion", "")), str(name), value))
    return found


def _resolve(value: str, base: Path, report_dir: Path) -> Path | None:
    path = Path(value)
    candidates = [path] if path.is_absolute() else [base / path, report_dir / path]
    return next((c for c in candidates if c.is_file()), None)


def _plots(data: dict, base: Path, report_dir: Path) -> str:
    shown = []
    for criterion, name, value in _image_paths(data):
        caption = f"{criterion} · {name} · {value}"
        path = _resolve(value, base, report_dir)
        if path is None:
            shown.append(f'<p class="missing plot-missing">{_e(caption)}: the file is not there</p>')
            continue
        try:
            if path.stat().st_size > IMAGE_MAX_BYTES:
                shown.append(f'<p class="plot-missing">{_e(caption)}: too large to embed, '
                             f'<a href="{_e(_href(path, report_dir))}">open the file</a></p>')
                continue
            payload = base64.b64encode(path.read_bytes()).decode("ascii")
        except OSError as exc:
            shown.append(f'<p class="missing plot-missing">{_e(caption)}: unreadable ({_e(exc)})</p>')
            continue
        mime = IMAGE_TYPES[path.suffix.lower()]
        shown.append(f'<figure><img src="data:{mime};base64,{payload}" alt="{_e(caption)}">'
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    return "".join(shown) or '<p class="none">no test of this run recorded a plot</p>'


def _preflight(data: dict) -> str:
    rows = data.get("preflight") or data.get("context", {}).get("preflight")
    if not rows:
        return ""
    if isinstance(rows, str):
        return f'<section id="preflight"><h2>Preflight</h2><pre>{_e(rows)}</pre></section>'
    if isinstance(rows, dict):
        rows = [{"check": k, "result": v} for k, v in rows.items()]
    rows = [row if isinstance(row, dict) else {"check": row} for row in rows]
    columns: list[str] = []
    for row in rows:
        columns.extend(str(k) for k in row if str(k) not in columns)
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(row.get(c, ''))}</td>" for c in columns) + "</tr>" for row in rows)
    return f'<section id="preflight"><h2>Preflight</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>'


def _diagnostics(data: dict, report_dir: Path) -> str:
    where = data.get("context", {}).get("diagnostics")
    if not where:
        return ""
    folder = Path(str(where))
    parts = [f'<p>folder: <a href="{_e(_href(folder, report_dir))}">{_e(folder)}</a></p>']
    if not folder.is_dir():
        parts.append('<p class="missing">the folder is not on this machine</p>')
    for name, title in (("reason.txt", "why it was collected"), ("problems.txt", "what could not be collected")):
        if (folder / name).is_file():
            parts.append(f'<p>{_e(title)}: <a href="{_e(_href(folder / name, report_dir))}">{_e(name)}</a></p>')
    reading = folder / "diagnosis.txt"
    if reading.is_file():
        lines = reading.read_text(encoding="utf-8", errors="replace").splitlines()
        more = f"\n… {len(lines) - FIRST_READING_LINES} more lines" if len(lines) > FIRST_READING_LINES else ""
        parts.append(f'<p>first reading: <a href="{_e(_href(reading, report_dir))}">diagnosis.txt</a></p>'
                     f'<pre id="first-reading">{_e(chr(10).join(lines[:FIRST_READING_LINES]) + more)}</pre>')
    return f'<section id="diagnostics"><h2>Diagnostics</h2>{"".join(parts)}</section>'


def _trend(data: dict, history: list[dict]) -> str:
    runs = trend(history, data.get("provider"))
    where = f" on {_e(data.get('provider'))}" if data.get("provider") else ""
    title = f"<h2>Trend: the last {len(runs)} runs{where} that measured a key figure</h2>"
    if not runs:
        return f'<section id="trend">{title}<p class="none">no run in the history folder measured one yet</p></section>'
    head = "".join(f"<th>{_e(f.label)} [{_e(f.unit)}]</th>" for f in KEY_FIGURES)
    sparks = "".join(f"<td>{sparkline(values)}{_range(values)}</td>" for values in
                     ([f.read(run) for run in runs] for f in KEY_FIGURES))
    body = []
    for run in runs:
        current = ' class="current"' if run.get("generated_at") == data.get("generated_at") else ""
        cells = "".join(f"<td>{_e(_short(f.read(run)))}</td>" for f in KEY_FIGURES)
        body.append(f'<tr{current}><td>{_e(run.get("generated_at", run.get("_file", "")))}</td>'
                    f'<td><span class="verdict {_e(run.get("gate", ""))}">{_e(run.get("gate", ""))}</span></td>{cells}</tr>')
    return (f'<section id="trend">{title}<table><thead><tr><th>run</th><th>gate</th>{head}</tr></thead>'
            f'<tbody><tr class="sparks"><td colspan="2">trend</td>{sparks}</tr>{"".join(body)}</tbody></table></section>')


def _range(values: list[float | None]) -> str:
    measured = [v for v in values if v is not None]
    return f'<div class="range">{_e(_short(min(measured)))} – {_e(_short(max(measured)))}</div>' if measured else ""


def _short(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _run_header(data: dict, report_dir: Path) -> str:
    gate = str(data.get("gate", ""))
    context = data.get("context", {})
    facts = [("generated", data.get("generated_at")), ("provider", data.get("provider")),
             ("kubernetes", context.get("kubernetes")), ("scope", ", ".join(map(str, data.get("scope", []))))]
    items = "".join(f"<li>{_e(k)}: <b>{_e(v)}</b></li>" for k, v in facts if v)
    url = str(context.get("app_url", ""))
    if url.startswith(("http://", "https://")):
        items += f'<li>app: <a href="{_e(url)}">{_e(url)}</a></li>'
    files = [name for name in ("success-criteria.json", "success-criteria.md", "aiops-report.md") if (report_dir / name).is_file()]
    links = " · ".join(f'<a href="{_e(quote(name))}">{_e(name)}</a>' for name in files)
    return (f'<header><h1>Success criteria — gate <span id="gate" class="verdict {_e(gate)}">{_e(gate)}</span></h1>'
            f'<ul class="facts">{items}</ul><p class="files">{links}</p></header>')


def _run_details(data: dict) -> str:
    context = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in data.get("context", {}).items())
    settings = "".join(f"<li>{_e(s)}</li>" for s in data.get("settings", []))
    return (f'<details><summary>run context</summary><table class="context">{context}</table></details>'
            f"<details><summary>settings</summary><ul>{settings}</ul></details>")


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: .35em .5em; vertical-align: top; text-align: left; }
thead th { background: #f6f8fa; }
.description { font-weight: normal; color: #57606a; max-width: 22em; }
.verdict { display: inline-block; padding: .1em .5em; border-radius: .6em; font-weight: 600; color: #fff; background: #6e7781; }
.verdict.passed { background: #1a7f37; } .verdict.failed { background: #cf222e; } .verdict.partial { background: #bf8700; }
ul { margin: 0; padding-left: 1.1em; } ul.claims { list-style: none; padding-left: 0; }
.claims .failed, li.failed { color: #cf222e; } .claims .partial, .claims .unproven, li.missing, .missing { color: #9a6700; }
.claims .not-required, .none { color: #6e7781; }
.figures { max-height: 16em; overflow: auto; font-size: 12px; }
.claims-cell { min-width: 16em; max-width: 26em; } .tests-cell { max-width: 34em; } code { overflow-wrap: anywhere; }
.why { font-family: monospace; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
figure { display: inline-block; margin: 0 1em 1em 0; } figure img { max-width: 100%; width: 720px; border: 1px solid #d0d7de; }
pre { background: #f6f8fa; padding: .6em; overflow: auto; max-height: 30em; }
tr.current { font-weight: 600; } .spark { color: #0969da; } .range { font-size: 11px; color: #57606a; } .facts { list-style: none; padding: 0; display: flex; gap: 1.5em; flex-wrap: wrap; }
"""


def render(data: dict, *, report_dir: Path, history: list[dict] | None = None, base: Path | None = None) -> str:
    """The page for one run's report dict; `base` is the folder relative figure paths start from (the run's cwd)."""
    base = base or Path.cwd()
    sections = [
        _run_header(data, report_dir),
        f'<section id="criteria-section"><h2>Criteria</h2>{_criteria_table(data)}</section>',
        f'<section id="plots"><h2>Plots</h2>{_plots(data, base, report_dir)}</section>',
        _preflight(data),
        _diagnostics(data, report_dir),
        _trend(data, history or []),
        _run_details(data),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>deployproof — gate {_e(data.get('gate', ''))} — {_e(data.get('generated_at', ''))}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>\n")


def write(data: dict, report_dir: Path, base: Path | None = None) -> Path:
    """report_dir/report.html, with the trend from report_dir/history; a page is written even if rendering fails."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / FILE_NAME
    try:
        page = render(data, report_dir=report_dir, history=load_history(report_dir / "history"), base=base)
    except Exception as exc:  # noqa: BLE001 - the run's verdicts are in the JSON; the page must still say where
        page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
                f"content=\"{POLICY}\"><title>deployproof report</title></head><body><h1>gate {_e(data.get('gate', ''))}</h1>"
                f"<p>the page could not be rendered: {_e(type(exc).__name__)}: {_e(exc)} "
                f"({_e(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))}); the verdicts are in "
                f'<a href="success-criteria.json">success-criteria.json</a>.</p></body></html>\n')
    path.write_text(page, encoding="utf-8")
    return path
