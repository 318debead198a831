"""Analyse a .tflite file for a board: arena (host and target), per-op memory, budgets.

`analyze()` returns the JSON document described in docs/reference/analysis.md; `render()` draws
it as tables on a terminal. Neither imports TensorFlow or runs TFLM.
"""

from __future__ import annotations

from pathlib import Path

from tinyreport.analysis.arena import (
    ESP_BUILD_CHECK,
    ESP_NN_VERSION,
    ESP_TFLITE_MICRO_VERSION,
    HOST,
    PROFILES,
    ArenaPlan,
    HeadBuffer,
    plan_arena,
)
from tinyreport.analysis.boards import Board, load_board
from tinyreport.analysis.budget import arena_with_margin, flash_budget, sram_budget
from tinyreport.analysis.latency import predict as predict_latency
from tinyreport.analysis.tflite_reader import Model, read_model
from tinyreport.errors import ModelFileError
from tinyreport.results import COMPUTED, ESTIMATED

# Version of the document analyze() returns (bump on an incompatible change and say what changed;
# added fields keep the version).
# 1: first version. Added since: `arena.host.scratch` and `arena.target.scratch` (each kernel
#    scratch buffer), `scratch_bytes` per `timeline` entry and in `peak_op`, `provenance` per
#    entry of `boards`; `latency` (top level and per entry of `boards`: the predicted latency, or
#    null for a board without a latency model) and `predicted_us` per entry of `ops`; `bound` and
#    `unverified_ops` in `arena.host` and `arena.target`.
FORMAT_VERSION = 1

HOST_SOURCE = (
    "tinyreport arena planner; equals tflite_micro's RecordingMicroAllocator "
    "(Python wheel, 64-bit host) to the byte on the test graphs and the public models of "
    "tests/data/corpus"
)
_TARGET_NAMES = {
    "esp32s3": "ESP32-S3",
    "esp32": "ESP32 (generic ESP-NN kernels)",
    "ref32": "a 32-bit target (reference kernels)",
}


def _build_check(profile: str) -> str:
    """What the 32-bit build of esp-tflite-micro says about `profile`, as a clause for its
    label ("" for profiles no such build checks)."""
    if profile not in ESP_BUILD_CHECK:
        return ""
    equal, models = ESP_BUILD_CHECK[profile]
    build = (
        f"equal to a 32-bit build of esp-tflite-micro {ESP_TFLITE_MICRO_VERSION} with esp-nn "
        f"{ESP_NN_VERSION} on {equal} of the {models} public test models it allocates"
    )
    if profile == "esp32s3":
        return (
            "; ESP-NN scratch sizes checked against esp-nn's own ESP32-S3 scratch-size code "
            f"compiled for the host, not measured on a device; {build}"
        )
    return f"; {build}"


def analyze(path: Path, board: str = "xiao-esp32s3", int8_only: bool = False) -> dict:
    """Read `path`, plan its arena for this host and for `board`, and budget the board."""
    board_data = load_board(board)
    model = read_model(Path(path))
    if int8_only and not model.is_int8:
        ops = sorted({op.op for op in model.float_operators})
        raise ModelFileError(
            f"{path} is a float model ({len(model.float_operators)} operators read or write "
            f"float tensors, e.g. {ops[0]}); int8-only kernels cannot run it: convert it with "
            "full-int8 quantization."
        )
    host = plan_arena(model, HOST)
    target = plan_arena(model, PROFILES[board_data.arena_profile])
    x = model.tensors[model.inputs[0]] if model.inputs else None
    y = model.tensors[model.outputs[0]] if model.outputs else None
    sram = sram_budget(
        board_data,
        target.total_bytes,
        sum(model.tensors[i].n_bytes for i in model.inputs),
        sum(model.tensors[i].n_bytes for i in model.outputs),
        arena_lower_bound=not board_data.kernel_scratch_modelled,
        arena_estimated=bool(board_data.arena_note),
    )
    flash = flash_budget(board_data, model.file_bytes, model.op_types)
    peak = target.peak_op
    latency = predict_latency(model, board_data)
    predicted = {o["index"]: o["predicted_us"] for o in (latency or {}).get("ops", [])}
    return {
        "format": FORMAT_VERSION,
        "model": _model_dict(model, x, y),
        "board": board_data.to_dict(),
        "arena": {
            "host_bytes": host.total_bytes,
            "head_bytes": host.head_bytes,
            "tail_bytes": host.tail_bytes,
            "target_bytes": target.total_bytes,
            "reserve_bytes": arena_with_margin(target.total_bytes),
            "host": {
                **_plan_summary(host, model),
                "provenance": ESTIMATED if host.bound == "lower" else COMPUTED,
                "source": HOST_SOURCE,
                "label": _host_label(host),
            },
            "target": {
                **_plan_summary(target, model),
                **_board_arena(board_data, target),
                "source": f"tinyreport arena planner, profile '{target.profile}'",
            },
            "rules_of_thumb": _rules_of_thumb(model, target.total_bytes),
        },
        "peak_op": peak.to_dict() if peak else None,
        "timeline": [m.to_dict() for m in target.timeline],
        "ops": [_op_dict(model, op, target, predicted.get(op.index)) for op in model.operators],
        "budget": {"sram": sram.to_dict(), "flash": flash.to_dict()},
        "latency": latency,
        "boards": _all_boards(model),
    }


def _all_boards(model: Model) -> dict:
    """Arena and budgets on every bundled board, for comparison pages."""
    from tinyreport.analysis.boards import board_ids

    plans: dict[str, ArenaPlan] = {}
    inputs = sum(model.tensors[i].n_bytes for i in model.inputs)
    outputs = sum(model.tensors[i].n_bytes for i in model.outputs)
    boards = {}
    for board_id in board_ids():
        b = load_board(board_id)
        if b.arena_profile not in plans:
            plans[b.arena_profile] = plan_arena(model, PROFILES[b.arena_profile])
        plan = plans[b.arena_profile]
        lower = not b.kernel_scratch_modelled
        boards[board_id] = {
            "arena_bytes": plan.total_bytes,
            "profile": plan.profile,
            **_board_arena(b, plan),
            "budget": {
                "sram": sram_budget(
                    b,
                    plan.total_bytes,
                    inputs,
                    outputs,
                    arena_lower_bound=lower,
                    arena_estimated=bool(b.arena_note),
                ).to_dict(),
                "flash": flash_budget(b, model.file_bytes, model.op_types).to_dict(),
            },
            "latency": _latency_summary(predict_latency(model, b)),
        }
    return boards


def _latency_summary(latency: dict | None) -> dict | None:
    """A board's predicted latency without the per-operator list (kept for the chosen board)."""
    if latency is None:
        return None
    return {k: v for k, v in latency.items() if k != "ops"}


def _why_not_exact(plan: ArenaPlan) -> str:
    """The reasons a plan is not exact, as a clause ("" when it is exact)."""
    return why_not_exact(plan.unmodelled_ops, plan.caveats, plan.unverified_ops)


def why_not_exact(unmodelled_ops, caveats, unverified_ops) -> str:
    """The reasons a plan with these unmodelled operators, caveats and unchecked operators is
    not exact, as a clause ("" when it is exact); also for a plan read back from a document."""
    reasons = []
    if unmodelled_ops:
        reasons.append(f"allocations of {', '.join(unmodelled_ops)} are not modelled")
    reasons += list(caveats)
    if unverified_ops and not reasons:
        reasons.append(
            "modelled from TFLM's kernels but not checked against TFLM for "
            + ", ".join(unverified_ops)
        )
    return "; ".join(reasons)


def _host_label(plan: ArenaPlan) -> str:
    """How far the host figure can be trusted, in one phrase."""
    if plan.bound == "exact":
        return "computed, equal to host TFLM"
    if plan.bound == "unverified":
        return f"computed; {_why_not_exact(plan)}"
    return f"lower bound: TFLM needs at least this; {_why_not_exact(plan)}"


def _board_arena(board: Board, plan: ArenaPlan) -> dict:
    """Provenance and label of a board's planned arena: computed, or a lower bound when the
    board's kernels request scratch buffers that the plan's profile leaves out, or when some
    operator's allocations are not modelled."""
    return board_arena(board, plan.profile, plan.bound, _why_not_exact(plan))


def board_arena(board: Board, profile: str, bound: str = "exact", why: str = "") -> dict:
    """Provenance and label of an arena planned with `profile` for `board`; `bound` and `why`
    are the plan's (see ArenaPlan.bound and _why_not_exact)."""
    name = _TARGET_NAMES.get(profile, profile)
    if board.arena_note:
        return {
            "provenance": ESTIMATED,
            "label": f"estimate: {board.arena_note}" + (f"; {why}" if why else ""),
        }
    if board.kernel_scratch_modelled and bound != "lower":
        return {
            "provenance": COMPUTED,
            "label": f"computed for {name}, not yet confirmed by a device log"
            + _build_check(profile)
            + (f"; {why}" if why else ""),
        }
    reasons = [why] if bound == "lower" else []
    if not board.kernel_scratch_modelled:
        reasons.insert(
            0,
            f"this board runs {board.kernels}, whose kernels also request scratch buffers, "
            "which are not modelled",
        )
    return {
        "provenance": ESTIMATED,
        "label": f"estimated lower bound: planned for {name}, but {'; '.join(reasons)}",
    }


def _model_dict(model: Model, x, y) -> dict:
    return {
        "path": model.path,
        "file_bytes": model.file_bytes,
        "n_operators": len(model.operators),
        "n_tensors": len(model.tensors),
        "param_bytes": model.param_bytes,
        "n_macs": model.n_macs,
        "int8": model.is_int8,
        "input": x.to_dict() if x else None,
        "output": y.to_dict() if y else None,
        "op_types": list(model.op_types),
        "resolver": list(model.resolver_methods),
    }


def _scratch_dict(model: Model, buffer: HeadBuffer) -> dict:
    op = model.operators[buffer.index].op
    return {
        "op": buffer.index,
        "op_type": op,
        "what": buffer.name.removesuffix(f" (op {buffer.index} {op})"),
        "bytes": buffer.n_bytes,
        "aligned_bytes": buffer.aligned_bytes,
    }


def _plan_summary(plan: ArenaPlan, model: Model) -> dict:
    return {
        "profile": plan.profile,
        "pointer_bytes": plan.pointer_bytes,
        "total_bytes": plan.total_bytes,
        "head_bytes": plan.head_bytes,
        "tail_bytes": plan.tail_bytes,
        "exact": plan.exact,
        "bound": plan.bound,
        "unmodelled_ops": list(plan.unmodelled_ops),
        "unverified_ops": list(plan.unverified_ops),
        "caveats": list(plan.caveats),
        "tail": plan.tail_by_kind(),
        # Every kernel scratch buffer in the head. Each lives only while its operator runs, so
        # their sum (scratch_bytes) is not what the head holds at any one time.
        "scratch": [_scratch_dict(model, b) for b in plan.head if b.kind == "scratch"],
        "scratch_bytes": sum(b.aligned_bytes for b in plan.head if b.kind == "scratch"),
    }


def _rules_of_thumb(model: Model, arena: int) -> list[dict]:
    all_tensors = sum(t.n_bytes for t in model.tensors)
    rules = [
        ("2 x model size", 2 * model.file_bytes),
        ("3 x model size", 3 * model.file_bytes),
        ("sum of all tensors x 1.2", round(1.2 * all_tensors)),
    ]
    return [
        {"rule": rule, "bytes": n, "x_target": round(n / arena, 1) if arena else None}
        for rule, n in rules
    ]


def _op_dict(model: Model, op, plan: ArenaPlan, predicted_us: float | None) -> dict:
    memory = plan.timeline[op.index]
    return {
        "index": op.index,
        "op": op.op,
        "inputs": [model.tensors[i].to_dict() for i in op.inputs if i >= 0],
        "outputs": [model.tensors[i].to_dict() for i in op.outputs],
        "param_bytes": op.param_bytes,
        "n_macs": op.n_macs,
        "live_bytes": memory.live_bytes,
        "predicted_us": predicted_us,
    }


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KiB)"


def latency_text(latency: dict | None) -> str:
    """One line on the predicted latency, with its range, provenance and model version."""
    if latency is None:
        return "no latency model for this board (no public timing to calibrate one on)"
    if latency["predicted_us"] is None:
        return latency["label"]
    per_second = latency["inferences_per_second"]  # None for a model with no work at all
    rate = f", {per_second:,.1f} inferences/s" if per_second is not None else ""
    return (
        f"{latency['predicted_us'] / 1000:,.2f} ms per inference "
        f"(range {latency['low_us'] / 1000:,.2f}–{latency['high_us'] / 1000:,.2f} ms"
        f"{rate}), {latency['label']}"
    )


def render(doc: dict, console=None) -> None:
    """Print the analysis as tables on a terminal."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    model, arena = doc["model"], doc["arena"]
    console.print(
        f"[bold]{model['path']}[/bold]: {model['n_operators']} operators, "
        f"{model['file_bytes']:,} bytes, {model['n_macs']:,} MACs, "
        f"{'int8' if model['int8'] else 'float'} -> {doc['board']['name']}"
    )
    console.print(f"Latency: {latency_text(doc['latency'])}")
    table = Table(title="Tensor arena")
    for column in ("", "head", "tail", "total", "provenance"):
        table.add_column(column, justify="right" if column in ("head", "tail", "total") else None)
    for key, name in (("host", "host TFLM (64-bit)"), ("target", doc["board"]["id"])):
        a = arena[key]
        table.add_row(
            name,
            f"{a['head_bytes']:,}",
            f"{a['tail_bytes']:,}",
            f"{a['total_bytes']:,}",
            a["label"],
        )
    console.print(table)
    host = arena["host"]
    if host["unmodelled_ops"]:
        console.print(
            f"Not modelled (the figures are lower bounds): {', '.join(host['unmodelled_ops'])}"
        )
    if host["unverified_ops"]:
        console.print(f"Not checked against TFLM: {', '.join(host['unverified_ops'])}")
    console.print(
        f"Reserve in firmware: {_kib(arena['reserve_bytes'])} (margin policy: +10 %, min 1 KiB)"
    )
    peak = doc["peak_op"]
    if peak:
        console.print(
            f"Peak at op {peak['index']} {peak['op']}: {peak['live_bytes']:,} live bytes "
            f"({', '.join(peak['live'][:4])}{'…' if len(peak['live']) > 4 else ''})"
        )
    ops = Table(title="Operators")
    numeric = ("#", "params", "MACs", "live", "predicted µs")
    for column in ("#", "op", "output", "dtype", "params", "MACs", "live", "predicted µs"):
        ops.add_column(column, justify="right" if column in numeric else None)
    for op in doc["ops"]:
        out = op["outputs"][0] if op["outputs"] else {"shape": [], "dtype": ""}
        ops.add_row(
            str(op["index"]),
            op["op"],
            "x".join(str(d) for d in out["shape"]),
            out["dtype"],
            f"{op['param_bytes']:,}",
            f"{op['n_macs']:,}",
            f"{op['live_bytes']:,}",
            "—" if op["predicted_us"] is None else f"{op['predicted_us']:,.1f}",
        )
    console.print(ops)
    for memory in ("sram", "flash"):
        b = doc["budget"][memory]
        t = Table(title=f"{memory.upper()} budget: {b['verdict']}")
        t.add_column("")
        t.add_column("bytes", justify="right")
        t.add_column("basis")
        for line in b["lines"]:
            t.add_row(line["what"], f"{line['bytes']:,}", line["basis"])
        t.add_row("[bold]demand[/bold]", f"{b['demand_bytes']:,}", "")
        t.add_row("available", f"{b['capacity_bytes']:,}", b["capacity_basis"])
        t.add_row("headroom", f"{b['headroom_bytes']:,} ({b['pc_headroom']:.1f} %)", "")
        console.print(t)
        if b["note"]:
            console.print(b["note"])


# --- every board at once, and the gate -----------------------------------------------------------

#: Verdicts that fail the gate, per `--fail-on` choice.
FAIL_ON = {"exceeded": ("EXCEEDED",), "tight": ("TIGHT", "EXCEEDED")}


def fits(budget: dict, fail_on: str = "exceeded") -> bool:
    """True when neither the SRAM nor the flash verdict of `budget` fails under `fail_on`."""
    return not {budget["sram"]["verdict"], budget["flash"]["verdict"]} & set(FAIL_ON[fail_on])


def analyze_all(path: Path, int8_only: bool = False, fail_on: str = "exceeded") -> dict:
    """Plan `path` for every bundled board; name the smallest board it fits.

    Boards are listed by usable SRAM, then app partition, then id; "smallest" is the first that
    fits. `smallest_computed_fit` skips boards whose arena is only estimated (lower bounds).
    """
    from tinyreport.analysis.boards import all_boards

    doc = analyze(Path(path), int8_only=int8_only)
    boards = sorted(all_boards(), key=lambda b: (b.usable_sram_bytes, b.app_partition_bytes, b.id))
    rows = []
    for b in boards:
        entry = doc["boards"][b.id]
        sram = entry["budget"]["sram"]
        rows.append(
            {
                "id": b.id,
                "name": b.name,
                "family": b.family,
                "kernel_library": b.kernel_library,
                "usable_sram_bytes": b.usable_sram_bytes,
                "app_partition_bytes": b.app_partition_bytes,
                "arena_bytes": entry["arena_bytes"],
                "profile": entry["profile"],
                "provenance": entry["provenance"],
                "label": entry["label"],
                "lower_bound": not b.kernel_scratch_modelled,
                "tflm_supported": b.tflm_supported,
                "pc_sram": round(100.0 * sram["demand_bytes"] / sram["capacity_bytes"], 2),
                "budget": entry["budget"],
                # predicted latency (no per-operator list) where the board has a latency model
                "latency": entry.get("latency"),
                "fits": b.tflm_supported and fits(entry["budget"], fail_on),
            }
        )
    fitting = [r for r in rows if r["fits"]]  # boards without a TFLM port never fit
    computed = [r for r in fitting if r["provenance"] == COMPUTED]
    return {
        "format": FORMAT_VERSION,
        "model": doc["model"],
        "arena": {k: doc["arena"][k] for k in ("host_bytes", "head_bytes", "tail_bytes")},
        "fail_on": list(FAIL_ON[fail_on]),
        "boards": rows,
        "n_fit": len(fitting),
        "smallest_fit": fitting[0]["id"] if fitting else None,
        "smallest_computed_fit": computed[0]["id"] if computed else None,
    }


def render_all(doc: dict, console=None) -> None:
    """Print every board's verdicts as one table, smallest usable SRAM first."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    model = doc["model"]
    console.print(
        f"[bold]{model['path']}[/bold]: {model['n_operators']} operators, "
        f"{model['file_bytes']:,} bytes, {'int8' if model['int8'] else 'float'}; "
        f"host TFLM arena {doc['arena']['host_bytes']:,} B"
    )
    table = Table(title=f"Every board ({len(doc['boards'])}), smallest usable SRAM first")
    columns = ("board", "family", "usable SRAM", "arena", "SRAM use", "SRAM", "flash", "fits")
    for column in columns:
        right = column in ("usable SRAM", "arena", "SRAM use")
        table.add_column(column, justify="right" if right else None)
    for r in doc["boards"]:
        mark = "≥ " if r["lower_bound"] else ("~ " if r["provenance"] != COMPUTED else "")
        table.add_row(
            r["id"],
            r["family"],
            f"{r['usable_sram_bytes']:,}",
            f"{mark}{r['arena_bytes']:,}",
            f"{mark}{r['pc_sram']:.1f} %",
            r["budget"]["sram"]["verdict"],
            r["budget"]["flash"]["verdict"],
            ("yes" if r["fits"] else "no") + ("" if r["tflm_supported"] else " (no TFLM)"),
        )
    console.print(table)
    console.print(
        "arena: computed for the board's TFLM build; ≥ an estimated lower bound (the board's "
        "CMSIS-NN or generic ESP-NN kernels request scratch buffers that are not modelled); "
        "~ an estimate for a build no profile describes. SRAM use: demand (arena + 10 % margin, "
        "buffers, stack, system) as a share of usable SRAM."
    )
    by_id = {r["id"]: r for r in doc["boards"]}
    smallest, computed = doc["smallest_fit"], doc["smallest_computed_fit"]
    if smallest is None:
        console.print("[bold]No board fits.[/bold]")
        return
    first = by_id[smallest]
    bound = " (its arena is an estimated lower bound)" if first["provenance"] != COMPUTED else ""
    console.print(
        f"[bold]Smallest board that fits:[/bold] {first['name']} ({smallest}), "
        f"{first['usable_sram_bytes']:,} B usable SRAM{bound}."
    )
    if computed and computed != smallest:
        c = by_id[computed]
        console.print(
            f"Smallest with a computed arena: {c['name']} ({computed}), "
            f"{c['usable_sram_bytes']:,} B usable SRAM."
        )


def report(
    path: Path,
    board: str,
    *,
    as_json: bool = False,
    int8_only: bool = False,
    color: bool = False,
    fail_on: str = "exceeded",
) -> tuple[str, bool]:
    """Analyse `path` and return the text `tinyreport analyze` prints (JSON or tables) and
    whether the model fits: on `board`, or on at least one board when `board` is "all"."""
    every = board == "all"
    if every:
        doc = analyze_all(Path(path), int8_only=int8_only, fail_on=fail_on)
        ok = doc["smallest_fit"] is not None
    else:
        doc = analyze(Path(path), board, int8_only=int8_only)
        ok = doc["board"]["tflm_supported"] and fits(doc["budget"], fail_on)
    if as_json:
        import json

        return json.dumps(doc, indent=2) + "\n", ok
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, width=110, highlight=False)
    if every:
        render_all(doc, console)
    else:
        render(doc, console)
        b = doc["budget"]
        why = f"SRAM {b['sram']['verdict']}, flash {b['flash']['verdict']}"
        if not doc["board"]["tflm_supported"]:
            why = f"TFLM does not run on it ({doc['board']['arena_note']})"
        console.print(f"{'Fits' if ok else 'Does not fit'} the {doc['board']['name']}: {why}.")
    return buffer.getvalue(), ok
