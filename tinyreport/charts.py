"""Results -> Plotly figure specs (plain dicts, so no plotly import is needed). Pure."""

from __future__ import annotations

from tinyreport.results import VARIANT_TITLES, VARIANTS, ModelResult, Results

KB = 1024


def _figure(data: list[dict], title: str, **layout) -> dict:
    return {
        "data": data,
        "layout": {"title": {"text": title}, "margin": {"t": 50, "r": 20, "b": 50, "l": 60}}
        | layout,
    }


def sizes(results: Results) -> dict:
    """File size of every variant of every model, in KiB (bars grouped by model)."""
    names = [m.name for m in results.models]
    data = [
        {
            "type": "bar",
            "name": VARIANT_TITLES[kind],
            "x": names,
            "y": [round(m.variants[kind].size_bytes / KB, 1) for m in results.models],
            "hovertemplate": "%{x}: %{y} KiB<extra>" + VARIANT_TITLES[kind] + "</extra>",
        }
        for kind in VARIANTS
    ]
    return _figure(
        data,
        "File size (measured file bytes)",
        barmode="group",
        yaxis={"title": {"text": "KiB"}, "type": "log"},
    )


def accuracy(results: Results) -> dict:
    """Test accuracy of every variant of every model, in percent."""
    names = [m.name for m in results.models]
    data = [
        {
            "type": "bar",
            "name": VARIANT_TITLES[kind],
            "x": names,
            "y": [round(m.variants[kind].evaluation.pc_accuracy, 2) for m in results.models],
            "hovertemplate": "%{x}: %{y}%<extra>" + VARIANT_TITLES[kind] + "</extra>",
        }
        for kind in VARIANTS
    ]
    low = min(m.variants[k].evaluation.pc_accuracy for m in results.models for k in VARIANTS)
    return _figure(
        data,
        f"Test accuracy on {results.dataset.n_test:,} images",
        barmode="group",
        yaxis={"title": {"text": "%"}, "range": [max(0.0, low - 2.0), 100]},
    )


def arena(results: Results) -> dict:
    """Host TFLM arena, head and tail stacked, for the two TFLite variants of every model."""
    xs = [
        [m.name for m in results.models for _ in ("tflite_float", "tflite_int8")],
        [VARIANT_TITLES[k] for _ in results.models for k in ("tflite_float", "tflite_int8")],
    ]
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
                "y": [
                    getattr(m.variants[k].arena, part)
                    for m in results.models
                    for k in ("tflite_float", "tflite_int8")
                ],
                "hovertemplate": "%{y:,} bytes<extra>" + title + "</extra>",
            }
        )
    return _figure(
        data,
        "Tensor arena, measured on host TFLM",
        barmode="stack",
        yaxis={"title": {"text": "bytes"}},
    )


def confusion(model: ModelResult, kind: str = "tflite_int8") -> dict:
    """Confusion matrix of one variant as a heatmap."""
    matrix = model.variants[kind].evaluation.confusion
    digits = [str(d) for d in range(len(matrix))]
    return _figure(
        [
            {
                "type": "heatmap",
                "z": matrix,
                "x": digits,
                "y": digits,
                "colorscale": "Blues",
                "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>",
            }
        ],
        f"Confusion matrix, {VARIANT_TITLES[kind]}",
        xaxis={"title": {"text": "predicted"}, "type": "category"},
        yaxis={"title": {"text": "true"}, "type": "category", "autorange": "reversed"},
    )


def per_class(model: ModelResult) -> dict:
    """Per-class accuracy of every variant of one model."""
    digits = [str(d) for d in range(10)]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": VARIANT_TITLES[kind],
            "x": digits,
            "y": [round(100 * a, 2) for a in model.variants[kind].evaluation.per_class_accuracy],
        }
        for kind in VARIANTS
    ]
    return _figure(
        data,
        "Accuracy per digit",
        xaxis={"title": {"text": "digit"}, "type": "category"},
        yaxis={"title": {"text": "%"}},
    )
