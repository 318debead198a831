"""Results -> Plotly figure specs (plain dicts, so no plotly import is needed). Pure.

Every figure carries a `provenance` list next to `data` and `layout`: one sentence per source of
its numbers. The page shows it under the chart; Plotly never sees it.
"""

from __future__ import annotations

from tinyreport.analysis.budget import EXCEEDED_ABOVE_PC, TIGHT_ABOVE_PC, VERDICTS
from tinyreport.results import VARIANT_TITLES, VARIANTS, ModelResult, Results

KB = 1024
VERDICT_COLOURS = {"OK": "#2e7d32", "TIGHT": "#f9a825", "EXCEEDED": "#c62828"}
VERDICT_FILLS = {"OK": "#a5d6a7", "TIGHT": "#fff59d", "EXCEEDED": "#ef9a9a"}  # light, for text


def _figure(data: list[dict], title: str, provenance: list[str], **layout) -> dict:
    for axis in ("xaxis", "yaxis"):  # long tick labels push the axis title out, not over it
        layout[axis] = {"automargin": True} | layout.get(axis, {})
    return {
        "data": data,
        "layout": {"title": {"text": title}, "margin": {"t": 50, "r": 20, "b": 50, "l": 60}}
        | layout,
        "provenance": provenance,
    }


def _kinds(results: Results) -> list[str]:
    """The variants any model has, in display order."""
    present = {k for m in results.models for k in m.variants}
    return [k for k in VARIANTS if k in present]


def _size_kib(m: ModelResult, kind: str) -> float | None:
    return round(m.variants[kind].size_bytes / KB, 1) if kind in m.variants else None


def _pc_accuracy(m: ModelResult, kind: str) -> float | None:
    v = m.variants.get(kind)
    return None if v is None or v.evaluation is None else round(v.evaluation.pc_accuracy, 2)


def sizes(results: Results) -> dict:
    """File size of every variant of every model, in KiB (bars grouped by model)."""
    names = [m.name for m in results.models]
    data = [
        {
            "type": "bar",
            "name": VARIANT_TITLES[kind],
            "x": names,
            "y": [_size_kib(m, kind) for m in results.models],
            "hovertemplate": "%{x}: %{y} KiB<extra>" + VARIANT_TITLES[kind] + "</extra>",
        }
        for kind in _kinds(results)
    ]
    return _figure(
        data,
        "File size",
        ["file sizes: bytes of the files tinyreport collect wrote (measured on host)"],
        barmode="group",
        yaxis={"title": {"text": "KiB (log scale)"}, "type": "log"},
    )


def accuracy(results: Results) -> dict:
    """Test accuracy of every variant of every model, in percent."""
    names = [m.name for m in results.models]
    data = [
        {
            "type": "bar",
            "name": VARIANT_TITLES[kind],
            "x": names,
            "y": [_pc_accuracy(m, kind) for m in results.models],
            "hovertemplate": "%{x}: %{y}%<extra>" + VARIANT_TITLES[kind] + "</extra>",
        }
        for kind in _kinds(results)
    ]
    # The axis starts at 0: a cut axis would make differences of a few tenths of a point look
    # large. The tables give the differences in points.
    return _figure(
        data,
        f"Test accuracy on {results.dataset.n_test:,} images",
        [
            f"accuracy: {results.dataset.n_test:,} test images; the Keras model run by Keras, "
            "both TFLite files by the LiteRT interpreter (measured on host)"
        ],
        barmode="group",
        yaxis={"title": {"text": "%"}, "range": [0, 100]},
    )


def arena(results: Results) -> dict:
    """Host TFLM arena, head and tail stacked, for the two TFLite variants of every model."""
    pairs = [(m, k) for m in results.models for k in m.tflite_kinds]
    xs = [[m.name for m, _ in pairs], [VARIANT_TITLES[k] for _, k in pairs]]
    data = []
    for part, title in (
        ("head_bytes", "head (planned tensors)"),
        ("tail_bytes", "tail (persistent)"),
    ):
        data.append(
            {
                "type": "bar",
                "name": title,
                "x": xs,
                "y": [getattr(m.variants[k].arena, part) for m, k in pairs],
                "hovertemplate": "%{y:,} bytes<extra>" + title + "</extra>",
            }
        )
    machine = pairs[0][0].variants[pairs[0][1]].arena.machine
    return _figure(
        data,
        "Tensor arena on host TFLM",
        [f"arena: TFLM's RecordingMicroAllocator on the host, {machine} (measured on host TFLM)"],
        barmode="stack",
        yaxis={"title": {"text": "bytes"}},
    )


def confusion(model: ModelResult, kind: str, labels: list[str]) -> dict:
    """Confusion matrix of one variant as a heatmap, classes named by `labels`."""
    evaluation = model.variants[kind].evaluation
    digits = list(labels)
    return _figure(
        [
            {
                "type": "heatmap",
                "z": evaluation.confusion,
                "x": digits,
                "y": digits,
                "colorscale": "Blues",
                "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>",
            }
        ],
        f"Confusion matrix, {VARIANT_TITLES[kind]}",
        [
            f"counts over {evaluation.n_samples:,} test images, "
            f"{evaluation.runtime} (measured on host)"
        ],
        xaxis={"title": {"text": "predicted"}, "type": "category"},
        yaxis={"title": {"text": "true"}, "type": "category", "autorange": "reversed"},
    )


def per_class(model: ModelResult, labels: list[str]) -> dict:
    """Per-class accuracy of every evaluated variant of one model, classes named by `labels`."""
    evaluated = [k for k in model.kinds if model.variants[k].evaluation is not None]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": VARIANT_TITLES[kind],
            "x": list(labels),
            "y": [round(100 * a, 2) for a in model.variants[kind].evaluation.per_class_accuracy],
        }
        for kind in evaluated
    ]
    n = model.variants[evaluated[0]].evaluation.n_samples if evaluated else 0
    return _figure(
        data,
        "Accuracy per class",
        [f"per-class share of correct predictions on {n:,} test samples (measured on host)"],
        xaxis={"title": {"text": "class"}, "type": "category"},
        yaxis={"title": {"text": "%"}},
    )


def size_accuracy(results: Results) -> dict:
    """Accuracy against file size for every variant of every model: what each KiB buys."""
    data = []
    for kind in _kinds(results):
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": VARIANT_TITLES[kind],
                "x": [_size_kib(m, kind) for m in results.models],
                "y": [_pc_accuracy(m, kind) for m in results.models],
                "text": [m.name for m in results.models],
                "textposition": "top center",
                "marker": {"size": 12},
                "hovertemplate": "%{text}: %{x} KiB, %{y}%<extra>"
                + VARIANT_TITLES[kind]
                + "</extra>",
            }
        )
    return _figure(
        data,
        "Accuracy against file size",
        [
            "file sizes (measured on host)",
            f"accuracy on {results.dataset.n_test:,} test images (measured on host)",
        ],
        xaxis={"title": {"text": "file size, KiB (log scale)"}, "type": "log"},
        yaxis={"title": {"text": "accuracy, %"}},
    )


def budget(rows: list[dict], title: str, limit_label: str, provenance: list[str]) -> dict:
    """A stacked bar per model of its budget components, with each model's limit as a marker.

    `rows`: one per bar, `{"label", "items": [{"what", "bytes"}], "limit_bytes", "verdict"}`
    (the page data from `tinyreport.site.render`).
    """
    labels = [r["label"] for r in rows]
    order: list[str] = []
    for r in rows:
        for item in r["items"]:
            if item["what"] not in order:
                order.append(item["what"])
    data = []
    for what in order:
        ys = []
        for r in rows:
            found = [i["bytes"] for i in r["items"] if i["what"] == what]
            ys.append(round(found[0] / KB, 1) if found else 0)
        data.append(
            {
                "type": "bar",
                "name": what,
                "x": labels,
                "y": ys,
                "hovertemplate": "%{y:,} KiB<extra>" + what + "</extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": limit_label,
            "x": labels,
            "y": [round(r["limit_bytes"] / KB, 1) for r in rows],
            "text": [r["verdict"] for r in rows],
            "textposition": "top center",
            "marker": {"symbol": "line-ew-open", "size": 60, "line": {"width": 3}},
            "hovertemplate": "%{y:,} KiB<extra>" + limit_label + "</extra>",
        }
    )
    return _figure(
        data,
        title,
        provenance,
        barmode="stack",
        yaxis={"title": {"text": "KiB"}, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )


def timeline(ops: list[dict], title: str, provenance: list[str]) -> dict:
    """Live arena bytes at every operator, the peak highlighted (`ops`: index, op, live_bytes)."""
    peak = max((o["live_bytes"] for o in ops), default=0)
    return _figure(
        [
            {
                "type": "bar",
                "x": [f"{o['index']}: {o['op']}" for o in ops],
                "y": [o["live_bytes"] for o in ops],
                "marker": {
                    "color": ["#c62828" if o["live_bytes"] == peak else "#1e88e5" for o in ops]
                },
                "hovertemplate": "%{x}: %{y:,} bytes live<extra></extra>",
            }
        ],
        title,
        provenance,
        xaxis={"title": {"text": "operator (execution order)"}, "type": "category"},
        yaxis={"title": {"text": "live head bytes"}},
    )


def latency(rows: list[dict], provenance: list[str]) -> dict:
    """Median device latency with p90 error bars (`rows`: label, median_us, p90_us)."""
    return _figure(
        [
            {
                "type": "bar",
                "x": [r["label"] for r in rows],
                "y": [round(r["median_us"] / 1000, 3) for r in rows],
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [round((r["p90_us"] - r["median_us"]) / 1000, 3) for r in rows],
                    "arrayminus": [0 for _ in rows],
                },
                "hovertemplate": "%{x}: median %{y} ms<extra></extra>",
            }
        ],
        "Latency per inference on the device (median, bar to p90)",
        provenance,
        yaxis={"title": {"text": "ms"}},
    )


def device_ops(ops: list[dict], title: str, provenance: list[str]) -> dict:
    """Mean time per invoke of every operator on the device (`ops`: index, op, us)."""
    timed = [o for o in ops if o.get("us") is not None]
    return _figure(
        [
            {
                "type": "bar",
                "x": [f"{o['index']}: {o['op']}" for o in timed],
                "y": [o["us"] for o in timed],
                "hovertemplate": "%{x}: %{y} µs<extra></extra>",
            }
        ],
        title,
        provenance,
        xaxis={"title": {"text": "operator (execution order)"}, "type": "category"},
        yaxis={"title": {"text": "µs per invoke"}},
    )


def feasibility_map(
    cells: list[dict], models: list[str], boards: list[str], notes: list[str]
) -> dict:
    """Heatmap of the SRAM verdict per model and board, with the share of usable SRAM in each cell.

    `cells`: `{"model", "board", "pc_sram", "verdict", "lower_bound"}`, from
    `tinyreport.site.render`. The colour is the cell's verdict, so it follows the verdict
    thresholds of tinyreport.analysis.budget exactly; the colour bar names those thresholds.
    """
    z, text, hover = [], [], []
    for model in models:
        row_z, row_t, row_h = [], [], []
        for board in boards:
            cell = next((c for c in cells if c["model"] == model and c["board"] == board), None)
            if cell is None:
                row_z.append(None)
                row_t.append("—")
                row_h.append("no figure")
                continue
            share = ("≥ " if cell.get("lower_bound") else "") + f"{cell['pc_sram']:.1f} %"
            row_z.append(VERDICTS.index(cell["verdict"]))
            row_t.append(f"{cell['verdict']}<br>{share}")
            row_h.append(f"{share} of usable SRAM")
        z.append(row_z)
        text.append(row_t)
        hover.append(row_h)
    n = len(VERDICTS)
    colorscale = []
    for i, name in enumerate(VERDICTS):  # one flat band per verdict
        colorscale += [[i / n, VERDICT_FILLS[name]], [(i + 1) / n, VERDICT_FILLS[name]]]
    tight, exceeded = f"{TIGHT_ABOVE_PC:g} %", f"{EXCEEDED_ABOVE_PC:g} %"
    return _figure(
        [
            {
                "type": "heatmap",
                "z": z,
                "x": boards,
                "y": models,
                "text": text,
                "customdata": hover,
                "texttemplate": "%{text}",
                "zmin": -0.5,
                "zmax": n - 0.5,
                "colorscale": colorscale,
                "colorbar": {
                    "title": {"text": "SRAM verdict"},
                    "tickvals": list(range(n)),
                    "ticktext": [
                        f"OK: up to {tight}",
                        f"TIGHT: above {tight}, up to {exceeded}",
                        f"EXCEEDED: above {exceeded}",
                    ],
                },
                "hovertemplate": "%{y} on %{x}: %{customdata}<extra></extra>",
            }
        ],
        "Feasibility map: SRAM needed as a share of each board's usable SRAM",
        [
            "arena: tinyreport's planner, computed exactly for boards whose kernels it models "
            "with their scratch buffers",
            *notes,
            "stack, system and usable SRAM: the board files, with their sources",
            f"colour: the SRAM verdict (OK up to {tight} of usable SRAM, TIGHT up to "
            f"{exceeded}, EXCEEDED above)",
        ],
        xaxis={"type": "category"},
        yaxis={"type": "category", "autorange": "reversed"},
    )
