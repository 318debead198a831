"""Results -> Plotly figure specs (plain dicts, so no plotly import is needed). Pure.

Every figure carries a `provenance` list next to `data` and `layout`: one sentence per source of
its numbers. The page shows it under the chart; Plotly never sees it.

Plotly renders a few tags in its labels (<br>, <b>, <a href>), so every string of a figure is
escaped when the page is written (`tinyreport.site.render.chart`), except the hover templates and
labels tinyreport writes with Plotly's markup, which are `Markup`.
"""

from __future__ import annotations

from markupsafe import Markup

from tinyreport.analysis.budget import EXCEEDED_ABOVE_PC, TIGHT_ABOVE_PC, VERDICTS
from tinyreport.results import VARIANT_TITLES, VARIANTS, ModelResult, Results

KB = 1024
VERDICT_COLOURS = {"OK": "#2e7d32", "TIGHT": "#f9a825", "EXCEEDED": "#c62828"}
VERDICT_FILLS = {"OK": "#a5d6a7", "TIGHT": "#fff59d", "EXCEEDED": "#ef9a9a"}  # light, for text


def _hover(template: str, trace: str = "") -> Markup:
    """A hover template of tinyreport's own, with the trace's name (escaped) in its box."""
    return Markup(template) + Markup("<extra>") + trace + Markup("</extra>")


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
            "hovertemplate": _hover("%{x}: %{y} KiB", VARIANT_TITLES[kind]),
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


def zoomed_range(values: list[float], step: float = 1.0, pad: float = 0.5) -> list[float]:
    """An axis range around `values`, out to whole `step`s with `pad` steps of room, in 0-100."""
    import math

    lo, hi = min(values), max(values)
    bottom = max(0.0, math.floor(lo / step - pad) * step)
    top = min(100.0, math.ceil(hi / step + pad) * step)
    return [bottom, max(top, bottom + step)]


def accuracy(results: Results) -> dict:
    """Test accuracy of every variant of every model, on an axis zoomed to the values.

    The axis range is stated in the title and every model's spread across its variants is
    annotated in points, so a zoomed axis cannot be misread as large differences.
    """
    names = [m.name for m in results.models]
    kinds = _kinds(results)
    data = [
        {
            "type": "bar",
            "name": VARIANT_TITLES[kind],
            "x": names,
            "y": [_pc_accuracy(m, kind) for m in results.models],
            "text": [
                "" if _pc_accuracy(m, kind) is None else f"{_pc_accuracy(m, kind):.2f}"
                for m in results.models
            ],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": _hover("%{x}: %{y}%", VARIANT_TITLES[kind]),
        }
        for kind in kinds
    ]
    values = [y for trace in data for y in trace["y"] if y is not None] or [0.0, 100.0]
    span = max(values) - min(values)
    bottom, top = zoomed_range(values, step=1.0 if span < 10 else 10.0)
    top = min(100.0, top + (top - bottom) * 0.12)  # room for the labels and the annotations
    annotations = []
    for m in results.models:
        ys = {k: _pc_accuracy(m, k) for k in kinds if _pc_accuracy(m, k) is not None}
        if "tflite_int8" in ys and "tflite_float" in ys:
            text = f"int8 − float: {ys['tflite_int8'] - ys['tflite_float']:+.2f} points"
        elif len(ys) > 1:
            text = f"spread {max(ys.values()) - min(ys.values()):.2f} points"
        else:
            continue
        annotations.append(
            {
                "x": m.name,
                "y": top,
                "yanchor": "top",
                "text": text.replace("-", "−"),
                "showarrow": False,
                "font": {"size": 12},
            }
        )
    return _figure(
        data,
        f"Test accuracy on {results.dataset.n_test:,} images (axis {bottom:g} to {top:.3g} %)",
        [
            f"accuracy: {results.dataset.n_test:,} test images; the Keras model run by Keras, "
            "both TFLite files by the LiteRT interpreter (measured on host)",
            f"the axis is zoomed to {bottom:g}–{top:.3g} %, not 0–100 %: bar heights exaggerate "
            "the differences, which are annotated in points",
        ],
        barmode="group",
        yaxis={"title": {"text": "%"}, "range": [bottom, top]},
        annotations=annotations,
        legend={"orientation": "h", "y": -0.15},
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
                "hovertemplate": _hover("%{y:,} bytes", title),
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
    """Confusion matrix of one variant: counts and row percentages in the cells, log colours.

    The colour is log10(count + 1), so a handful of errors is visible next to a diagonal of
    hundreds; the colour bar is labelled in counts.
    """
    import math

    evaluation = model.variants[kind].evaluation
    counts = evaluation.confusion
    rows = [sum(r) or 1 for r in counts]
    pc = [[round(100 * c / rows[i], 1) for c in r] for i, r in enumerate(counts)]
    colour = [[round(math.log10(c + 1), 4) for c in r] for r in counts]
    top = max((c for r in counts for c in r), default=1)
    ticks = [t for t in (0, 1, 10, 100, 1000, 10000, 100000) if t <= max(top, 1)]
    text = [
        [Markup(f"{c}<br>{p:g}%") if c else "" for c, p in zip(r, pr, strict=True)]
        for r, pr in zip(counts, pc, strict=True)
    ]
    digits = list(labels)
    return _figure(
        [
            {
                "type": "heatmap",
                "z": colour,
                "x": digits,
                "y": digits,
                "text": text,
                "texttemplate": "%{text}",
                "textfont": {"size": 10},
                "customdata": [
                    [[c, p] for c, p in zip(r, pr, strict=True)]
                    for r, pr in zip(counts, pc, strict=True)
                ],
                # White for no count, light blue for a few, dark blue for the diagonal.
                "colorscale": [[0, "#ffffff"], [0.12, "#deebf7"], [0.5, "#6baed6"], [1, "#08306b"]],
                "colorbar": {
                    "title": {"text": "count"},
                    "tickvals": [round(math.log10(t + 1), 4) for t in ticks],
                    "ticktext": [f"{t:,}" for t in ticks],
                },
                "hovertemplate": _hover(
                    "true %{y}, predicted %{x}: %{customdata[0]} (%{customdata[1]}% of true %{y})"
                ),
            }
        ],
        f"Confusion matrix, {VARIANT_TITLES[kind]}",
        [
            f"counts over {evaluation.n_samples:,} test images, "
            f"{evaluation.runtime} (measured on host); in each cell the count and its share of "
            "the row (the true class); colour on a log scale"
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
                "hovertemplate": _hover("%{text}: %{x} KiB, %{y}%", VARIANT_TITLES[kind]),
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


BUDGET_KEPT = 3  # budget lines drawn on their own besides the first; the rest as "other"


def budget(rows: list[dict], title: str, limit_label: str, provenance: list[str]) -> dict:
    """A horizontal stacked bar per model: its budget lines as a share of its limit.

    The axis is zoomed to the largest demand (the range is stated in the title), so that the
    first line (the arena, or the model file) is legible next to the system's share; each bar
    ends with its share of the limit and its verdict. Lines beyond the first and the
    `BUDGET_KEPT` largest are drawn together as "other", named in the hover text.

    `rows`: one per bar, `{"label", "items": [{"what", "bytes"}], "limit_bytes", "verdict"}`
    (the page data from `tinyreport.site.render`).
    """
    labels = [r["label"] for r in rows]
    first = rows[0]["items"][0]["what"] if rows and rows[0]["items"] else None
    totals: dict[str, int] = {}
    for r in rows:
        for item in r["items"]:
            totals[item["what"]] = totals.get(item["what"], 0) + item["bytes"]
    rest = sorted((w for w in totals if w != first), key=lambda w: -totals[w])
    n_kept = BUDGET_KEPT if len(rest) > BUDGET_KEPT + 1 else len(rest)  # no "other" of one line
    kept = ([first] if first else []) + rest[:n_kept]
    other = rest[n_kept:]
    data = []
    greys = iter(["#64b5f6", "#90a4ae", "#ffb74d", "#cfd8dc", "#b39ddb"])
    for what in kept + (["other"] if other else []):
        xs, kib, custom = [], [], []
        for r in rows:
            names = other if what == "other" else [what]
            n = sum(i["bytes"] for i in r["items"] if i["what"] in names)
            xs.append(round(100 * n / r["limit_bytes"], 2))
            kib.append(round(n / KB, 1))
            custom.append(", ".join(names))
        trace = {
            "type": "bar",
            "orientation": "h",
            "name": what if what != "other" else f"other ({len(other)} lines)",
            "y": labels,
            "x": xs,
            "customdata": [[k, c] for k, c in zip(kib, custom, strict=True)],
            "hovertemplate": Markup("%{customdata[1]}: %{customdata[0]:,} KiB, %{x}% of ")
            + limit_label
            + Markup("<extra></extra>"),
            "marker": {"color": "#c62828" if what == first else next(greys, "#bdbdbd")},
        }
        if what == first:
            trace["text"] = [f"{k:,.1f} KiB" for k in kib]
            trace["textposition"] = "inside"
            trace["insidetextanchor"] = "middle"
            trace["textangle"] = 0
        data.append(trace)
    shares = [100 * r["demand_bytes"] / r["limit_bytes"] for r in rows] if rows else [0.0]
    top = max(shares) * 1.45 if max(shares) < 69 else max(100.0, max(shares)) * 1.1
    top = float(f"{top:.2g}")
    annotations = [
        {
            "x": share,
            "y": label,
            "xanchor": "left",
            "text": f" {share:.1f} % {r['verdict']}",
            "showarrow": False,
            "font": {"size": 12, "color": VERDICT_COLOURS.get(r["verdict"], "#555")},
        }
        for share, label, r in zip(shares, labels, rows, strict=True)
    ]
    shapes = (
        [
            {
                "type": "line",
                "x0": 100,
                "x1": 100,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#c62828", "dash": "dot"},
            }
        ]
        if top >= 100
        else []
    )
    return _figure(
        data,
        f"{title} (axis 0 to {top:g} % of {limit_label})",
        provenance,
        barmode="stack",
        xaxis={"title": {"text": f"% of {limit_label}"}, "range": [0, top]},
        yaxis={"type": "category", "autorange": "reversed"},
        legend={"orientation": "h", "y": -0.25},
        annotations=annotations,
        shapes=shapes,
        height=max(300, 70 * len(rows) + 170),
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
                "hovertemplate": _hover("%{x}: %{y:,} bytes live"),
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
                "hovertemplate": _hover("%{x}: median %{y} ms"),
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
                "hovertemplate": _hover("%{x}: %{y} µs"),
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
    """Heatmap of the SRAM verdict per board (rows) and model (columns), with the share of usable
    SRAM in each cell.

    `cells`: `{"model", "board", "pc_sram", "verdict", "lower_bound"}` and optionally
    `"board_name"`, `"family"`, `"tflm_supported"`, from `tinyreport.site.render`; `boards` in
    the order of the rows (grouped by family there). Rows are labelled by family and board name
    (a two-level axis), so that 30 and more boards stay legible. The colour is the cell's
    verdict, so it follows the verdict thresholds of tinyreport.analysis.budget exactly; the
    colour bar names those thresholds.
    """
    by_key = {(c["model"], c["board"]): c for c in cells}
    first = {c["board"]: c for c in reversed(cells)}
    z, text, hover = [], [], []
    for board in boards:
        row_z, row_t, row_h = [], [], []
        for model in models:
            cell = by_key.get((model, board))
            if cell is None:
                row_z.append(None)
                row_t.append("—")
                row_h.append("no figure")
                continue
            mark = "≥ " if cell.get("lower_bound") else ""
            if not cell.get("tflm_supported", True):
                mark = "~ "
            share = f"{mark}{cell['pc_sram']:.1f} %"
            row_z.append(VERDICTS.index(cell["verdict"]))
            row_t.append(f"{cell['verdict']} {share}")
            row_h.append(f"{share} of usable SRAM")
        z.append(row_z)
        text.append(row_t)
        hover.append(row_h)
    names = [first[b].get("board_name", b) if b in first else b for b in boards]
    families = [first[b].get("family", "") if b in first else "" for b in boards]
    n = len(VERDICTS)
    colorscale = []
    for i, name in enumerate(VERDICTS):  # one flat band per verdict
        colorscale += [[i / n, VERDICT_FILLS[name]], [(i + 1) / n, VERDICT_FILLS[name]]]
    tight, exceeded = f"{TIGHT_ABOVE_PC:g} %", f"{EXCEEDED_ABOVE_PC:g} %"
    grouped = any(families)
    return _figure(
        [
            {
                "type": "heatmap",
                "z": z,
                "x": models,
                "y": [families, names] if grouped else names,
                "text": text,
                "customdata": hover,
                "texttemplate": "%{text}",
                "xgap": 2,
                "ygap": 2,
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
                    # Beside the rows, at the top: a tall map keeps its legend in view.
                    "len": min(1.0, 420 / (160 + 26 * max(len(boards), 4))),
                    "y": 1.0,
                    "yanchor": "top",
                },
                "hovertemplate": _hover("%{y} · %{x}: %{customdata}"),
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
        xaxis={"type": "category", "side": "top"},
        yaxis={"type": "multicategory" if grouped else "category", "autorange": "reversed"},
        height=160 + 26 * max(len(boards), 4),
    )


def espdl_errors(model: ModelResult) -> dict:
    """ESP-PPQ's noise-to-signal ratio per layer (graphwise and layerwise), in percent, on a log
    axis, with the ESP-DL guide's thresholds (output < 10 %, a layer < 1 %) as lines."""
    d = model.variants["espdl_int8"].details
    layers = [row["layer"] for row in d["graphwise"]]
    short = [f"{i}: {name.split('/')[-1][:28]}" for i, name in enumerate(layers)]
    by_layer = {row["layer"]: row["nsr"] for row in d["layerwise"]}
    data = [
        {
            "type": "bar",
            "name": "graphwise (error so far, at the layer's output)",
            "x": short,
            "y": [round(100 * row["nsr"], 5) for row in d["graphwise"]],
            "hovertemplate": "%{x}: %{y:.4f} %<extra>graphwise</extra>",
        },
        {
            "type": "bar",
            "name": "layerwise (the layer alone quantized)",
            "x": short,
            "y": [round(100 * by_layer.get(name, 0.0), 5) for name in layers],
            "hovertemplate": "%{x}: %{y:.4f} %<extra>layerwise</extra>",
        },
    ]
    limits = d["thresholds"]
    shapes = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 100 * value,
            "y1": 100 * value,
            "line": {"dash": "dash", "width": 1},
        }
        for value in (limits["output_nsr"], limits["layer_nsr"])
    ]
    return _figure(
        data,
        "ESP-DL int8: quantization noise per layer",
        [
            f"ESP-PPQ's graphwise and layerwise error analysis on {d['error_samples']:,} "
            f"calibration samples (simulated on host, target {d['target']}); dashed lines: the "
            "ESP-DL guide's thresholds, output 10 %, a layer 1 %"
        ],
        barmode="group",
        yaxis={"title": {"text": "noise-to-signal, % (log scale)"}, "type": "log"},
        shapes=shapes,
    )


def pareto(rows: list[dict], n_test: int) -> dict:
    """Accuracy against flash (file size) for every variant of every model, one trace per
    variant kind, and the Pareto front (nothing smaller is as accurate) as a line."""
    data = []
    for kind in VARIANTS:
        mine = [r for r in rows if r["kind"] == kind and r["accuracy"] is not None]
        if not mine:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": VARIANT_TITLES[kind],
                "x": [round(r["size_bytes"] / KB, 1) for r in mine],
                "y": [round(100.0 * r["accuracy"], 2) for r in mine],
                "text": [r["model"] for r in mine],
                "marker": {"size": 11},
                "hovertemplate": _hover("%{text}: %{x} KiB, %{y}%", VARIANT_TITLES[kind]),
            }
        )
    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["size_bytes"])
    if front:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Pareto front (TFLM can run)",
                "x": [round(r["size_bytes"] / KB, 1) for r in front],
                "y": [round(100.0 * r["accuracy"], 2) for r in front],
                "line": {"shape": "hv", "dash": "dot"},
                "hoverinfo": "skip",
            }
        )
    return _figure(
        data,
        "Accuracy against flash, every variant",
        [
            "file sizes (measured on host)",
            f"accuracy on {n_test:,} test samples (measured on host)",
            "front: computed from these figures, among variants TFLM can run",
        ],
        xaxis={"title": {"text": "flash (file size), KiB (log scale)"}, "type": "log"},
        yaxis={"title": {"text": "accuracy, %"}},
    )
