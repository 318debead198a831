"""Render docs/benchmarks.md and docs/quality.md from the benchmarks.json data."""

from __future__ import annotations

import json
import math
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from benchmarks import quality
from tinyreport.site.render import fmt_bytes, fmt_int, markdown_environment

TEMPLATES = Path(__file__).parent / "templates"


def fmt_s(seconds: float | None) -> str:
    """Seconds with a precision that suits their size: '0.412 s', '12.3 s'."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.3f} s"
    return f"{seconds:,.1f} s"


def fmt_signed_pct(pc: float) -> str:
    """A signed percentage: '+12.5 %', '−3.0 %', '0 %'."""
    if pc == 0:
        return "0 %"
    text = f"{pc:+,.0f} %" if abs(pc) >= 100 else f"{pc:+.1f} %"
    return text.replace("-", "−")


def fmt_pp(pp: float) -> str:
    """A signed difference in percentage points."""
    return "0.00 pp" if pp == 0 else f"{pp:+.2f} pp".replace("-", "−")


def fmt_in_unit(value: float | None, unit: str) -> str:
    """A target's value in its unit."""
    if value is None:
        return "—"
    if unit == "s":
        return fmt_s(value)
    if unit == "bytes":
        return fmt_bytes(int(value))
    if unit == "%":
        return f"{value:.2f} %"
    return f"{value:.1f} {unit}"


def fmt_verdict(t: dict) -> str:
    """Met or missed; a wall-time miss that CPU time meets is blamed on the busy machine."""
    if t["passed"]:
        return "met"
    if t.get("passed_cpu"):
        return "**missed** on wall time; met on CPU time (busy machine)"
    return "**missed**"


def environment() -> Environment:
    """The one Jinja environment of the benchmark pages (Markdown: no autoescaping)."""
    env = markdown_environment(FileSystemLoader(TEMPLATES))
    env.filters.update(
        s=fmt_s,
        bytes=fmt_bytes,
        int=fmt_int,
        spct=fmt_signed_pct,
        pp=fmt_pp,
        unit=fmt_in_unit,
        verdict=fmt_verdict,
        mib=lambda n: f"{n / 1024 / 1024:,.1f} MiB",
    )
    return env


def _clean(text: str) -> str:
    """Strip trailing whitespace; collapse runs of blank lines; end with one newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def growth_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(cost) against log(x): cost grows about as x ** slope."""
    logs = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(logs) < 2:
        return None
    mx = sum(x for x, _ in logs) / len(logs)
    my = sum(y for _, y in logs) / len(logs)
    sxx = sum((x - mx) ** 2 for x, _ in logs)
    return sum((x - mx) * (y - my) for x, y in logs) / sxx if sxx else None


def growth(analyze: dict) -> dict:
    """How analyze's library-call time grows along each sweep (exponent of a power law)."""
    out = {}
    for sweep, key in (("size", "file_bytes"), ("operators", "n_operators")):
        rows = [m for m in analyze["models"] if m["sweep"] == sweep]
        out[sweep] = {
            "exponent": growth_exponent([(m[key], m["library_call"]["median_s"]) for m in rows]),
            "smallest": min(rows, key=lambda m: m[key]) if rows else None,
            "largest": max(rows, key=lambda m: m[key]) if rows else None,
        }
    return out


LATENCY_REPORT = Path(__file__).parent / "latency" / "report.json"


def render(data: dict) -> dict[str, str]:
    """Return {file name: Markdown} for both pages."""
    env = environment()
    derived = {"growth": growth(data["analyze"]) if "analyze" in data else None}
    pages = {
        "benchmarks.md": _clean(
            env.get_template("benchmarks.md.jinja").render(d=data, derived=derived)
        )
    }
    if "quality" in data:
        # The accuracy table reads the committed results file now, not a copy taken when the
        # benchmarks ran: the quality page and the report pages state one set of figures.
        exact = {
            **data,
            "quality": {
                **quality.with_exact_errors(data["quality"]),
                "accuracy": quality.accuracy(quality.ROOT / "docs" / "data" / "results.json"),
            },
        }
        latency = json.loads(LATENCY_REPORT.read_text("utf-8"))
        pages["quality.md"] = _clean(
            env.get_template("quality.md.jinja").render(d=exact, latency=latency)
        )
    return pages
