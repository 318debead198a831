"""Compare two results files: every figure that changed, and thresholds that make it a gate.

A figure is a number the pages publish about a model: sizes, accuracies (overall and per
class), agreement, final loss, parameters, the host and target arenas with their breakdowns,
the budgets on the configured board, device runs; and the sha256 of each model file and of the
dataset. Left out: what went in rather than came out (the config section, training settings,
dataset sizes), the model's graph as the analysis reads it (per-operator tensors, shapes and
quantization, the board catalogue, other boards), the confusion counts behind the accuracies,
paths, cache keys, version strings and the `run` block. Derived copies are left out so a change
is listed once: `evaluation.accuracy` is the variant's `accuracy`, `weights_bytes` is `params`
x 4.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinyreport.errors import TinyReportError

#: Exit statuses of `tinyreport diff`.
EXIT_OK = 0  # compared; no threshold crossed (figures may have changed)
EXIT_THRESHOLD = 1  # a --fail-on threshold was crossed
EXIT_BAD_INPUT = 2  # a results file or a threshold could not be read

SKIPPED = {"evaluation.accuracy", "weights_bytes", "format", "cache_key"}
SKIPPED_UNDER = (
    "config",
    "training",
    "input",
    "output",
    "evaluation.confusion",
    "analysis.format",
    "analysis.ops",
    "analysis.timeline",
    "analysis.model.input",
    "analysis.model.output",
    "analysis.board",
    "analysis.boards",
)
KEPT = {"training.final_loss"}
IDENTITY = {"sha256"}  # non-numeric fields that are figures all the same
ALIASES = {
    "accuracy": ("accuracy",),
    "arena": ("arena.host_bytes", "analysis.arena.target_bytes"),
    "size": ("size_bytes",),
    "flash": ("analysis.budget.flash.demand_bytes",),
    "sram": ("analysis.budget.sram.demand_bytes",),
}


class DiffInputError(TinyReportError):
    """A results file or a threshold given to `tinyreport diff` cannot be used."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class Change:
    model: str  # "" for the dataset block
    variant: str  # "" for model-level figures
    field: str
    old: Any
    new: Any

    @property
    def delta(self) -> float | None:
        if _number(self.old) and _number(self.new):
            return self.new - self.old
        return None

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or self.old == 0:
            return None
        return delta / abs(self.old)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delta": self.delta, "relative_delta": self.relative}


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _flatten(inner, f"{prefix}[{i}]", out)
    elif _number(value) or (prefix.rsplit(".", 1)[-1] in IDENTITY and isinstance(value, str)):
        if prefix in KEPT or not _skipped(prefix):
            out[prefix] = value


def _skipped(field: str) -> bool:
    if field in SKIPPED:
        return True
    return any(field == p or field.startswith((p + ".", p + "[")) for p in SKIPPED_UNDER)


def figures(document: dict) -> dict[tuple[str, str, str], Any]:
    """Every figure of a results document, keyed by (model, variant, field)."""
    found: dict[tuple[str, str, str], Any] = {}
    dataset = document.get("dataset") or {}
    if isinstance(dataset, dict) and "sha256" in dataset:
        found[("", "", "dataset.sha256")] = dataset["sha256"]
    for model in document.get("models") or []:
        name = str(model.get("name"))
        flat = {}
        _flatten({k: v for k, v in model.items() if k != "variants"}, "", flat)
        found |= {(name, "", k): v for k, v in flat.items()}
        for variant, info in (model.get("variants") or {}).items():
            flat = {}
            _flatten(info, "", flat)
            found |= {(name, variant, k): v for k, v in flat.items()}
    return found


def compare(base: dict, new: dict) -> list[Change]:
    """Every figure that differs between two results documents, in a stable order."""
    old_figures, new_figures = figures(base), figures(new)
    changes = []
    for key in sorted(set(old_figures) | set(new_figures)):
        old, now = old_figures.get(key), new_figures.get(key)
        if old != now:
            changes.append(Change(*key, old, now))
    return changes


def load(path: Path) -> dict:
    """Read a results file for comparison; one sentence if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DiffInputError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DiffInputError(f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise DiffInputError(f"{path} is not a tinyreport results file (no 'models' list)")
    return data


# --- thresholds --------------------------------------------------------------------------------

_THRESHOLD = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_.\[\]]*)=(?P<sign>[+-])(?P<amount>\d+(\.\d+)?)(?P<unit>%|pt)?$"
)


@dataclass(frozen=True)
class Threshold:
    """`NAME=+5%`: fail when NAME rises by more than 5 %; `accuracy=-0.5pt`: when it falls by
    more than 0.5 percentage points; without a unit, in the figure's own unit."""

    text: str
    fields: tuple[str, ...]
    direction: int  # +1: rises, -1: falls
    amount: float
    unit: str  # "%", "pt" or ""

    def crossed_by(self, change: Change) -> bool:
        if not any(change.field == f or change.field.endswith("." + f) for f in self.fields):
            return False
        if change.delta is None:
            return False
        if self.unit == "%":
            if change.relative is None:
                return change.delta * self.direction > 0
            moved = change.relative * 100
        elif self.unit == "pt":
            moved = change.delta * 100
        else:
            moved = change.delta
        return moved * self.direction > self.amount


def parse_threshold(text: str) -> Threshold:
    match = _THRESHOLD.match(text.strip())
    if match is None:
        raise DiffInputError(
            f"--fail-on {text!r} is not NAME=+N%, NAME=-Npt or NAME=+N "
            "(e.g. arena=+5%, accuracy=-0.5pt, size=+1024)"
        )
    name = match["name"]
    return Threshold(
        text=text,
        fields=ALIASES.get(name, (name,)),
        direction=1 if match["sign"] == "+" else -1,
        amount=float(match["amount"]),
        unit=match["unit"] or "",
    )


def crossed(changes: list[Change], thresholds: list[Threshold]) -> list[tuple[Threshold, Change]]:
    return [(t, c) for t in thresholds for c in changes if t.crossed_by(c)]


# --- output ------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _delta(change: Change) -> tuple[str, str]:
    if change.delta is None:
        return "", ""
    delta = change.delta
    shown = f"{delta:+,}" if isinstance(delta, int) else f"{delta:+.6g}"
    relative = "" if change.relative is None else f"{100 * change.relative:+.2f} %"
    return shown, relative


def to_json(changes: list[Change], hits: list[tuple[Threshold, Change]]) -> str:
    return (
        json.dumps(
            {
                "changes": [c.to_dict() for c in changes],
                "thresholds_crossed": [{"threshold": t.text, **c.to_dict()} for t, c in hits],
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("|", "\\|")


def to_markdown(changes: list[Change], hits: list[tuple[Threshold, Change]]) -> str:
    """A Markdown table of the changes (every cell escaped: file contents are not trusted)."""
    if not changes:
        return "No figure changed.\n"
    lines = [
        "| model | variant | field | old | new | delta | relative |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for c in changes:
        delta, relative = _delta(c)
        cells = [c.model or "(dataset)", c.variant or "-", c.field, _show(c.old), _show(c.new)]
        cells += [delta, relative]
        lines.append("| " + " | ".join(_escape(x) for x in cells) + " |")
    for t, c in hits:
        lines.append("")
        lines.append(_escape(f"Threshold {t.text} crossed by {c.model} {c.variant} {c.field}."))
    return "\n".join(lines) + "\n"


def to_text(changes: list[Change], hits: list[tuple[Threshold, Change]]) -> str:
    if not changes:
        return "no figure changed\n"
    rows = [("model", "variant", "field", "old", "new", "delta", "relative")]
    for c in changes:
        rows.append(
            (
                c.model or "(dataset)",
                c.variant or "-",
                c.field,
                _show(c.old),
                _show(c.new),
                *_delta(c),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    text = "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
    text += f"\n{len(changes)} figure(s) changed\n"
    for t, c in hits:
        text += f"threshold {t.text} crossed: {c.model} {c.variant} {c.field}\n"
    return text
