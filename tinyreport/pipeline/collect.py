"""Run the stages for every model, cache artifacts by their inputs, write results and pages."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tinyreport import __version__
from tinyreport.config import Config
from tinyreport.errors import ConfigError, ModelFileError, OutputError
from tinyreport.fsutil import native_output_to, output_problem, publish, reason, write_atomic
from tinyreport.pipeline.data import Dataset, DataSource, load_dataset, preprocess, resolve_source
from tinyreport.progress import Progress
from tinyreport.results import (
    DatasetInfo,
    HostArena,
    ModelResult,
    Results,
    Training,
    Variant,
    dumps,
)

FILES = {"keras": "model.keras", "tflite_float": "float.tflite", "tflite_int8": "int8.tflite"}


def _pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _hash(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ModelPlan:
    """Where one model's artifacts live, keyed by what produced them."""

    name: str
    train_key: str
    result_key: str
    train_dir: Path
    result_dir: Path

    @property
    def keras_path(self) -> Path:
        return self.train_dir / FILES["keras"]

    @property
    def result_path(self) -> Path:
        return self.result_dir / "model.json"


def _code(*modules: str) -> str:
    """Hash the source of the stage modules, so a change to a stage invalidates its artifacts."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update((Path(__file__).parents[1] / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def plan(config: Config, source: DataSource) -> list[ModelPlan]:
    """Compute each model's cache keys without touching TensorFlow."""
    artifacts = config.path(config.output.artifacts_dir)
    plans = []
    for name, spec in config.models.items():
        train_key = _hash(
            {
                "tinyreport": __version__,
                "code": _code("pipeline/train", "pipeline/data"),
                "tensorflow": _pkg_version("tensorflow"),
                "model": spec.model_dump(exclude={"epochs"}),
                "training": {**config.training.model_dump(), "epochs": config.epochs_for(name)},
                "data": source.sha256,
                "n_train": config.dataset.n_train,
            }
        )
        result_key = _hash(
            {
                "train": train_key,
                "code": _code(
                    "pipeline/convert", "pipeline/evaluate", "pipeline/tflm_host", "results"
                ),
                "quantization": config.quantization.model_dump(),
                "n_test": config.dataset.n_test,
                "litert": _pkg_version("ai-edge-litert"),
                "tflite_micro": _pkg_version("tflite-micro"),
            }
        )
        plans.append(
            ModelPlan(
                name,
                train_key,
                result_key,
                artifacts / name / f"train-{train_key}",
                artifacts / name / f"result-{result_key}",
            )
        )
    return plans


def _load_cached(p: ModelPlan) -> ModelResult | None:
    """Return the cached result if it and every file it names are intact, else None."""
    try:
        result = ModelResult.from_dict(json.loads(p.result_path.read_text(encoding="utf-8")))
        for kind in ("tflite_float", "tflite_int8"):
            blob = (p.result_dir / FILES[kind]).read_bytes()
            if hashlib.sha256(blob).hexdigest() != result.variants[kind].sha256:
                return None  # damaged or replaced: rebuild rather than report on it
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if p.keras_path.is_file() else None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _load_trained(p: ModelPlan):
    """Load a cached trained model and its final loss; name the file that is damaged."""
    import keras

    training_file = p.train_dir / "training.json"
    try:
        final_loss = json.loads(training_file.read_text(encoding="utf-8"))["final_loss"]
        if isinstance(final_loss, bool) or not isinstance(final_loss, int | float):
            raise TypeError
    except OSError as exc:
        raise ModelFileError(f"cannot read {training_file}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(
            f'{training_file} is damaged: it should hold {{"final_loss": <number>}}; '
            "delete it to retrain"
        ) from None
    try:
        model = keras.models.load_model(p.keras_path)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise ModelFileError(
            f"cannot read {p.keras_path} ({type(exc).__name__}); delete it to retrain"
        ) from None
    return model, float(final_loss)


def build_model(config: Config, p: ModelPlan, data: Dataset, progress: Progress) -> ModelResult:
    """Train (or reuse the trained model), convert, evaluate and measure one model."""
    import keras

    from tinyreport.pipeline import convert, evaluate, train
    from tinyreport.pipeline.tflm_host import measure_host_arena

    spec = config.models[p.name]
    x_train, x_test = preprocess(data.x_train), preprocess(data.x_test)
    epochs = config.epochs_for(p.name)
    training_file = p.train_dir / "training.json"
    if p.keras_path.is_file() and training_file.is_file():
        progress.stage(p.name, "loading trained model")
        model, final_loss = _load_trained(p)
    else:
        progress.stage(p.name, "training", total=epochs)
        model, final_loss = train.train(
            p.name,
            spec,
            config.training,
            epochs,
            x_train,
            data.y_train,
            on_epoch=lambda done, total, loss: progress.step(done, total, f"loss {loss:.4f}"),
        )
        p.train_dir.mkdir(parents=True, exist_ok=True)
        tmp = p.train_dir / ".model.tmp.keras"
        model.save(tmp)
        tmp.replace(p.keras_path)
        write_atomic(training_file, dumps({"final_loss": final_loss}))

    progress.stage(p.name, "converting to float and int8 TFLite")
    calibration = x_train[
        convert.representative_indices(
            len(x_train), config.quantization.representative_samples, config.training.seed
        )
    ]
    flatbuffers = {
        "tflite_float": convert.to_float(model),
        "tflite_int8": convert.to_int8(model, calibration),
    }
    for kind, blob in flatbuffers.items():
        write_atomic(p.result_dir / FILES[kind], blob)

    progress.stage(p.name, "evaluating on the test set")
    root = config.root.resolve()
    keras_pred = evaluate.keras_predict(model, x_test)
    predictions = {"keras": keras_pred}
    variants = {
        "keras": Variant(
            kind="keras",
            path=_rel(p.keras_path, root),
            size_bytes=p.keras_path.stat().st_size,
            sha256=None,  # a .keras file records when it was saved, so its hash is not stable
            evaluation=evaluate.summarize(keras_pred, data.y_test, f"keras {keras.__version__}"),
        )
    }
    for kind, blob in flatbuffers.items():
        path = p.result_dir / FILES[kind]
        pred = evaluate.tflite_predict(blob, x_test)
        predictions[kind] = pred
        progress.stage(p.name, f"measuring the {kind} arena on host TFLM")
        host = measure_host_arena(path)
        inp, out, dtypes = evaluate.io_details(blob)
        variants[kind] = Variant(
            kind=kind,
            path=_rel(path, root),
            size_bytes=len(blob),
            sha256=hashlib.sha256(blob).hexdigest(),
            evaluation=evaluate.summarize(pred, data.y_test, evaluate.litert_runtime()),
            arena=HostArena(
                host_bytes=host.total_bytes,
                head_bytes=host.head_bytes,
                tail_bytes=host.tail_bytes,
                machine=host.machine,
                tflm_version=host.tflm_version,
            ),
            input=inp,
            output=out,
            tensor_dtypes=dtypes,
        )
    agreement = float((predictions["tflite_int8"] == predictions["tflite_float"]).mean())
    result = ModelResult(
        name=p.name,
        kind=spec.kind,
        architecture=train.describe(model),
        params=int(model.count_params()),
        training=Training(
            epochs=epochs,
            batch_size=config.training.batch_size,
            seed=config.training.seed,
            learning_rate=config.training.learning_rate,
            n_train=len(x_train),
            representative_samples=len(calibration),
            final_loss=round(final_loss, 6),
            tensorflow_version=_pkg_version("tensorflow"),
        ),
        variants=variants,
        agreement_int8_float=round(agreement, 6),
        cache_key=p.result_key,
    )
    write_atomic(p.result_path, dumps(result.to_dict()))
    return result


def analyze_variants(config: Config, model: ModelResult) -> ModelResult:
    """Add the memory analysis for the configured board to both TFLite variants."""
    from tinyreport.analysis.analyze import analyze

    variants = dict(model.variants)
    for kind in ("tflite_float", "tflite_int8"):
        document = analyze(config.root.resolve() / variants[kind].path, config.board)
        document["model"]["path"] = variants[kind].path  # relative: results must not name /home
        variants[kind] = replace(variants[kind], analysis=document)
    return replace(model, variants=variants)


def attach_device_runs(
    config: Config, models: list[ModelResult], warn: Callable[[str], None] | None = None
) -> tuple[list[ModelResult], list[dict]]:
    """Ingest every log in the logs folder; attach each run to the model variant it ran.

    A log that holds no device record (a stray file) stops nothing: it is listed with that
    problem first, and `warn` is told.
    """
    logs_dir = config.path(config.output.logs_dir)
    paths = sorted(p for p in logs_dir.glob("*.log") if p.is_file()) if logs_dir.is_dir() else []
    if not paths:
        return models, []
    from tinyreport.device.serial.ingest import gave_nothing, ingest_reports

    owner = {
        m.variants[kind].sha256: (m.name, kind)
        for m in models
        for kind in ("tflite_float", "tflite_int8")
    }
    known = {sha: f"{name}_{kind.removeprefix('tflite_')}" for sha, (name, kind) in owner.items()}
    # Logs are named relative to the project everywhere, problems included.
    reports = ingest_reports(paths, known, relative_to=config.root.resolve())

    runs: dict[str, list[dict]] = {m.name: [] for m in models}
    logs = []
    for report in reports:
        for run in report.runs:
            if run["model_known"]:
                name, kind = owner[run["model_id"]]
                runs[name].append({**run, "variant": kind})
        problems = list(report.problems)
        if gave_nothing(report, reports):
            problem = f"{report.path} holds no device record tinyreport can read"
            if problems:  # the page lists them below this one
                detail = f" ({len(problems)} problem(s), the first: {problems[0]})"
            else:
                problem += "; is it a device log?"
                detail = ""
            if warn is not None:
                warn(problem + detail)
            problems.insert(0, problem)
        logs.append(
            {
                "path": report.path,
                "n_boots": report.n_boots,
                "n_records": report.n_records,
                "n_runs": len(report.runs),
                "n_runs_unknown_model": sum(not r["model_known"] for r in report.runs),
                "problems": problems,
            }
        )
    return [replace(m, device=runs[m.name]) for m in models], logs


def check_outputs(config: Config) -> None:
    """Refuse output paths that cannot be written, all of them at once, before any long work."""
    from tinyreport.site.render import PLOTLY_ASSET

    root = config.root.resolve()
    out = config.output
    docs_dir = config.path(out.docs_dir)
    checks = [
        ("artifacts_dir", config.path(out.artifacts_dir), True),
        ("docs_dir", docs_dir, True),
        ("docs_dir", docs_dir / PLOTLY_ASSET, False),
        ("results", config.path(out.results), False),
        ("pages_dir", config.path(out.pages_dir), True),
    ]
    problems: dict[str, str] = {}
    for key, path, folder in checks:
        if key not in problems:
            problem = output_problem(path, folder, name=lambda p: _rel(p, root))
            if problem is not None:
                problems[key] = problem
    if problems:
        raise ConfigError(
            "outputs that cannot be written; change [output] or the files in the way:\n"
            + "\n".join(f"Config value 'output.{key}': {text}" for key, text in problems.items())
        )


def collect(
    config: Config,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
) -> str:
    """Bring every model's results up to date, write results and pages; return a summary.

    Results, pages and assets are published together at the end: an error or Ctrl-C before
    then leaves the previous set as it was. `warn` hears about logs that hold no record.
    """
    from tinyreport.site import render as site

    progress = progress or Progress()
    check_outputs(config)
    root = config.root.resolve()
    source = resolve_source(config.dataset, config.root)
    plans = plan(config, source)
    data: Dataset | None = None
    models, rebuilt = [], []
    for p in plans:
        result = _load_cached(p)
        if result is None:
            data = data or load_dataset(config.dataset, source)
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            try:
                with native_output_to(p.result_dir / "tensorflow.log"):
                    result = build_model(config, p, data, progress)
            except OSError as exc:
                where = _rel(Path(str(exc.filename or p.result_dir)), root)
                raise OutputError(
                    f"cannot write the artifacts of model {p.name}: {where} ({reason(exc)})"
                ) from None
            rebuilt.append(p.name)
        models.append(result)

    models = [analyze_variants(config, m) for m in models]
    models, device_logs = attach_device_runs(config, models, warn)
    results = Results(
        tinyreport_version=__version__,
        board=config.board,
        dataset=DatasetInfo(
            description=source.description,
            sha256=source.sha256,
            n_train=config.dataset.n_train,
            n_test=config.dataset.n_test,
        ),
        models=models,
        device_logs=device_logs,
    )
    results_path = config.path(config.output.results)
    pages, stale = site.page_files(results, config.path(config.output.pages_dir))
    files = {
        **site.asset_files(config.path(config.output.docs_dir)),
        **pages,
        results_path: dumps(results.to_dict()),
    }
    changed = publish(files, stale, name=lambda path: _rel(path, root))
    n_pages = len(set(changed) & (set(pages) | set(stale)))
    built = ", ".join(rebuilt) if rebuilt else "nothing (all cached)"
    return f"rebuilt: {built}; results: {_rel(results_path, root)}; pages changed: {n_pages}"
