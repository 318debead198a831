"""Benchmark `tinyreport collect`: cold (per stage), warm, and after changing one model."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import ROOT, run_command, summary, time_command, tinyreport_cmd

sys.path.insert(0, str(ROOT / "tests"))
from e2e import make_project  # noqa: E402  (the test suite's throw-away project helper)

# Small enough for CI: the same two model kinds, a few hundred images, one epoch.
QUICK_CONFIG = """\
board = "xiao-esp32s3"
[dataset]
n_train = 500
n_test = 200
[training]
epochs = 1
batch_size = 64
seed = 7
[quantization]
representative_samples = 20
[models.mlp]
kind = "mlp"
hidden = [32]
[models.cnn]
kind = "cnn"
filters = [4, 8]
dense = 16
"""

GENERATED = ("artifacts", "docs/report", "docs/data", "docs/assets/vendor")
_MLP_HIDDEN = re.compile(r"(\[models\.mlp\][^\[]*?hidden\s*=\s*\[)([^\]]*)(\])", re.S)


def default_config() -> str:
    """The repository's own tinyreport.toml: what `scripts/site` collects."""
    return (ROOT / "tinyreport.toml").read_text()


def changed_config(config: str, k: int) -> str:
    """The config with the MLP's last hidden layer widened by `k` units (a new cache key)."""
    match = _MLP_HIDDEN.search(config)
    if not match:
        raise RuntimeError("the benchmark config has no [models.mlp] hidden = [...] to change")
    widths = [int(x) for x in match.group(2).split(",")]
    widths[-1] += k
    return config[: match.start(2)] + ", ".join(map(str, widths)) + config[match.end(2) :]


def make(root: Path, config: str) -> Path:
    """A throw-away project with the repository's hand-written docs and device logs."""
    make_project(root, config)
    # The committed trained models: a cold collect of the repository's config converts and
    # measures the published models, as a fresh clone does (a changed model still trains).
    if (ROOT / "models" / "store").is_dir():
        shutil.copytree(ROOT / "models" / "store", root / "models" / "store", dirs_exist_ok=True)
    for page in ("benchmarks.md", "quality.md"):
        if (ROOT / "docs" / page).is_file():
            shutil.copy(ROOT / "docs" / page, root / "docs" / page)
    logs = ROOT / "benchmarks" / "logs"
    if logs.is_dir():
        shutil.copytree(logs, root / "benchmarks" / "logs", dirs_exist_ok=True)
    return root


def clear(project: Path) -> None:
    """Remove everything collect generates, so the next collect is cold."""
    for rel in GENERATED:
        shutil.rmtree(project / rel, ignore_errors=True)


def instrumented_collect(project: Path) -> dict:
    """Run collect in a child with its stages timed; return wall time and stage timings."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stages.json"
        watch = run_command(
            [sys.executable, "-m", "benchmarks.collect_child", str(project), str(out)], ROOT
        )
        data = json.loads(out.read_text())
    data["wall_s"], data["cpu_s"] = watch.wall_s, watch.cpu_s
    return data


def stage_table(runs: list[dict]) -> list[dict]:
    """Median seconds per stage and model over runs, with the unattributed rest last."""
    stages: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for stage, per_model in run["stages"].items():
            for model, seconds in per_model.items():
                stages.setdefault(stage, {}).setdefault(model, []).append(seconds)
    rows = []
    for stage, per_model in stages.items():
        by_model = {m: statistics.median(v) for m, v in per_model.items()}
        rows.append({"stage": stage, "by_model": by_model, "total_s": sum(by_model.values())})
    rest = statistics.median(
        r["wall_s"] - sum(s for per in r["stages"].values() for s in per.values()) for r in runs
    )
    rows.append(
        {
            "stage": "the rest (Python start-up, config, hashing, saving models, results file)",
            "by_model": {"": rest},
            "total_s": rest,
        }
    )
    return rows


def run(work: Path, quick: bool, log=print) -> tuple[dict, Path]:
    """Measure cold, warm and changed-model collects; return the results and the project."""
    config = QUICK_CONFIG if quick else default_config()
    n_cold, n_warm, n_changed = (1, 3, 1) if quick else (3, 7, 3)
    project = make(work / "project", config)

    cold_runs = []
    for i in range(n_cold):
        clear(project)
        log(f"collect: cold run {i + 1}/{n_cold}")
        cold_runs.append(instrumented_collect(project))

    log(f"collect: {n_warm} warm runs")
    warm = time_command(tinyreport_cmd("collect", "-q"), project, n_warm)

    changed_runs = []
    for k in range(1, n_changed + 1):
        (project / "tinyreport.toml").write_text(changed_config(config, k))
        log(f"collect: changed-model run {k}/{n_changed}")
        changed_runs.append(instrumented_collect(project))
    (project / "tinyreport.toml").write_text(config)
    run_command(tinyreport_cmd("collect", "-q"), project)  # back to the defaults' pages

    cold = summary([r["wall_s"] for r in cold_runs], [r["cpu_s"] for r in cold_runs])
    result = {
        "config": "quick benchmark config" if quick else "tinyreport.toml of the repository",
        "config_text": config,
        "models": list(_model_names(cold_runs)),
        "cold": {**cold, "stages": stage_table(cold_runs)},
        "warm": {**warm, "pc_of_cold": 100 * warm["median_s"] / cold["median_s"]},
        "changed": {
            **summary([r["wall_s"] for r in changed_runs], [r["cpu_s"] for r in changed_runs]),
            "what": "widen the MLP's last hidden layer by k units (k = 1, 2, ...): "
            "the MLP is retrained, the CNN comes from the cache",
            "stages": stage_table(changed_runs),
        },
    }
    return result, project


def _model_names(runs: list[dict]) -> dict[str, None]:
    names: dict[str, None] = {}
    for r in runs:
        for per in r["stages"].values():
            names.update((m, None) for m in per if m)
    return names
