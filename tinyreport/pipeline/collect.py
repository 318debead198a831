"""Run the stages for every model, cache artifacts by their inputs, write results and pages."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tinyreport import __version__
from tinyreport.config import NAME_PATTERN, Config
from tinyreport.dataset import Dataset, DataSource, load_dataset, preprocess, resolve_source
from tinyreport.errors import ConfigError, ModelFileError, OutputError
from tinyreport.fsutil import native_output_to, output_problem, publish, reason, write_atomic
from tinyreport.pipeline import determinism, store
from tinyreport.pipeline import run as run_info
from tinyreport.progress import Progress
from tinyreport.results import (
    SIMULATED_HOST,
    DatasetInfo,
    HostArena,
    ModelResult,
    Results,
    Training,
    Variant,
    dumps,
    is_results_file,
)

FILES = {
    "keras": "model.keras",
    "tflite_float": "float.tflite",
    "tflite_int8": "int8.tflite",
    "tflite_int16x8": "int16x8.tflite",
    "espdl_int8": "int8.espdl",
    "tflite_float16": "float16.tflite",
    "tflite_dynamic_int8": "dynamic_int8.tflite",
    "tflite_pruned_int8": "pruned_int8.tflite",
    "tflite_qat_int8": "qat_int8.tflite",
}
# Model keys that change only the extra variants (not the training) and those of distillation.
OPTIMIZE_KEYS = {"optimize", "sparsity"}
TEACHER_KEYS = {"teacher", "alpha", "temperature"}
# The variant a .tflite source is, by its input's dtype.
TFLITE_KIND_BY_INPUT = {"float32": "tflite_float", "int8": "tflite_int8", "int16": "tflite_int16x8"}


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
    teacher_dir: Path | None = None  # a distilled model's teacher's trained model

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


def _source_key(config: Config, name: str) -> dict:
    """What identifies a model's source beyond its config section: the user file it reads."""
    from tinyreport.dataset import file_sha256

    spec = config.models[name]
    if spec.kind in ("mlp", "cnn"):
        return {}
    if spec.kind == "keras" and spec.builder is not None:
        from tinyreport.pipeline.train import source_file

        module = source_file(spec, config.root)
        return {"builder_source": file_sha256(module) if module else None}
    path = config.path(spec.path)
    if not path.is_file():
        raise ModelFileError(
            f"model {name}: {spec.kind} file {spec.path} does not exist (looked for {path})"
        )
    return {"file_sha256": file_sha256(path)}


def _teacher_key(spec, plans: list[ModelPlan]) -> dict:
    """A distilled model's training depends on its teacher's: nothing for other models, so
    their cache keys stay as they were."""
    teacher = getattr(spec, "teacher", None)
    if teacher is None:
        return {}
    done = {p.name: p.train_key for p in plans}
    return {
        "teacher": {"key": done[teacher], **spec.model_dump(include=TEACHER_KEYS)},
        "distill_code": _code("pipeline/optimize"),
    }


def _teacher_dir(spec, plans: list[ModelPlan]) -> Path | None:
    teacher = getattr(spec, "teacher", None)
    return next((p.train_dir for p in plans if p.name == teacher), None)


def _optimize_key(spec) -> dict:
    """The extra variants asked for: nothing when there are none, so other keys stay."""
    if not getattr(spec, "optimize", None):
        return {}
    return {
        "optimize": spec.model_dump(include=OPTIMIZE_KEYS),
        "code_opt": _code("pipeline/optimize"),
    }


def trained_here(config: Config, name: str) -> bool:
    """Whether model `name` goes in the model store: built in or a builder's, not distilled
    (a distilled model is trained from its teacher in the artifacts cache, as before)."""
    spec = config.models[name]
    if getattr(spec, "teacher", None):
        return False
    return spec.kind in ("mlp", "cnn") or (spec.kind == "keras" and spec.builder is not None)


def store_entry(config: Config, source: DataSource, name: str) -> store.Entry:
    """The store entry of a model tinyreport trains."""
    extra = {"source": _source_key(config, name), "labels": config.dataset.labels}
    return store.entry(
        config,
        name,
        source.sha256,
        {k: v for k, v in extra.items() if v},
        exclude=OPTIMIZE_KEYS | TEACHER_KEYS,
    )


def plan(config: Config, source: DataSource) -> list[ModelPlan]:
    """Compute each model's store entry and cache keys without touching TensorFlow.

    A stored model's result key covers the stored model's bytes, so `collect --retrain` (which
    replaces the model under the same store key) also rebuilds what was converted from it.
    """
    artifacts = config.path(config.output.artifacts_dir)
    plans = []
    for name, spec in config.models.items():
        if trained_here(config, name):
            e = store_entry(config, source, name)
            train_key, train_dir = e.key, e.folder
            model_sha = e.model_sha256() if e.exists() else "untrained"
        else:
            train_key = _hash(
                {
                    "tinyreport": __version__,
                    "code": _code("pipeline/train", "dataset"),
                    "tensorflow": _pkg_version("tensorflow"),
                    "model": spec.model_dump(exclude={"epochs"} | OPTIMIZE_KEYS | TEACHER_KEYS),
                    **_teacher_key(spec, plans),
                    "source": _source_key(config, name),
                    "training": {
                        # backend joins the key only when it is not the default
                        **config.training.model_dump(
                            exclude={"backend"}
                            if config.training.backend == "tensorflow"
                            else set()
                        ),
                        "epochs": config.epochs_for(name),
                    },
                    "data": source.sha256,
                    "n_train": config.dataset.n_train,
                    "labels": config.dataset.labels,
                }
            )
            train_dir, model_sha = artifacts / name / f"train-{train_key}", None
        result_key = _hash(
            {
                "train": train_key,
                "model_sha256": model_sha,
                # collect.py orchestrates the conversion (build_model), so it is part of it.
                "code": _code(
                    "pipeline/collect",
                    "pipeline/convert",
                    "pipeline/evaluate",
                    "pipeline/tflm_host",
                    "pipeline/determinism",
                    "results",
                ),
                "quantization": config.quantization.model_dump(),
                **_optimize_key(spec),
                "n_test": config.dataset.n_test,
                "tensorflow": _pkg_version("tensorflow"),
                "litert": _pkg_version("ai-edge-litert"),
                "tflite_micro": _pkg_version("tflite-micro"),
                "espdl": _espdl_key(config),
            }
        )
        plans.append(
            ModelPlan(
                name,
                train_key,
                result_key,
                train_dir,
                artifacts / name / f"result-{result_key}",
                _teacher_dir(spec, plans),
            )
        )
    return plans


def plan_model(config: Config, source: DataSource, name: str) -> ModelPlan:
    """One model's plan (the others' are computed too: a teacher's key goes into its
    student's)."""
    return next(p for p in plan(config, source) if p.name == name)


def _load_cached(p: ModelPlan) -> ModelResult | None:
    """Return the cached result if it and every file it names are intact, else None."""
    try:
        result = ModelResult.from_dict(json.loads(p.result_path.read_text(encoding="utf-8")))
        for kind, variant in result.variants.items():
            if kind == "keras":
                continue
            blob = (p.result_dir / FILES[kind]).read_bytes()
            if hashlib.sha256(blob).hexdigest() != variant.sha256:
                return None  # damaged or replaced: rebuild rather than report on it
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.kind in ("mlp", "cnn") or result.training is not None:
        return result if p.keras_path.is_file() else None
    return result


def _rel(path: Path, root: Path) -> str:
    """`path` relative to the project, also when it lies behind a symlink in the project (an
    artifacts folder linked elsewhere): the results file must not name this machine's paths."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        links = [entry for entry in root.iterdir() if entry.is_symlink()]
    except OSError:
        links = []
    for link in links:
        try:
            return (Path(link.name) / path.relative_to(link.resolve())).as_posix()
        except (ValueError, OSError):
            continue
    return path.as_posix()


def _load_trained(p: ModelPlan):
    """Load a stored trained model and its final loss; name the file that is damaged."""
    return store.load(store.Entry(p.name, p.train_key, {}, p.train_dir))


def _load_cached_trained(p: ModelPlan):
    """Load a distilled model an earlier run trained, and its final loss; name a damaged file."""
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


def save_keras(model, path: Path) -> None:
    """Save a Keras model to `path` through a temporary file beside it and a rename.

    A failure (a full disk, Ctrl-C) removes the temporary file and leaves `path` as it was; an
    OSError names `path`, the file that could not be written (the error of a write to an open
    file names none).
    """
    tmp = path.parent / ".model.tmp.keras"
    try:
        model.save(tmp)
        tmp.replace(path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise


def _train(config: Config, p: ModelPlan, data: Dataset, x_train, progress: Progress):
    """Load a stored model, or train (or reuse) a distilled one; return (model, Training)."""
    if trained_here(config, p.name):
        return _stored(config, p, x_train, progress)
    return _train_in_cache(config, p, data, x_train, progress)


def _train_in_cache(config: Config, p: ModelPlan, data: Dataset, x_train, progress: Progress):
    """Train a distilled model (or reuse it from the cache); return (model, Training)."""
    from tinyreport.pipeline import train

    spec = config.models[p.name]
    epochs = config.epochs_for(p.name)
    training_file = p.train_dir / "training.json"
    alone_path = p.train_dir / ALONE_FILE
    if (
        p.keras_path.is_file()
        and training_file.is_file()
        and (p.teacher_dir is None or alone_path.is_file())
    ):
        progress.stage(p.name, "loading trained model")
        model, final_loss = _load_cached_trained(p)
    elif p.teacher_dir is not None:
        model, final_loss = _distill(config, p, data, x_train, progress)
        p.train_dir.mkdir(parents=True, exist_ok=True)
        tmp = p.train_dir / ".model.tmp.keras"
        model.save(tmp)
        tmp.replace(p.keras_path)
        write_atomic(training_file, dumps({"final_loss": final_loss}))
    else:
        train.seed_everything(config.training.seed)
        if spec.kind == "keras":
            progress.stage(p.name, f"building with {spec.builder}")
            model = train.build_from_builder(
                p.name, spec, config.root, data.input_shape, data.n_classes
            )
        else:
            model = train.build_model(p.name, spec, data.input_shape, data.n_classes)
        progress.stage(p.name, "training", total=epochs)
        try:
            model, final_loss = train.train(
                model,
                config.training,
                epochs,
                x_train,
                data.y_train,
                on_epoch=lambda done, total, loss: progress.step(done, total, f"loss {loss:.4f}"),
            )
        except (ValueError, TypeError) as exc:  # a builder's model that cannot be trained
            if spec.kind != "keras":
                raise
            raise ConfigError(
                f"model {p.name}: training the model from {spec.builder} failed "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from None
        p.train_dir.mkdir(parents=True, exist_ok=True)
        save_keras(model, p.keras_path)
        write_atomic(training_file, dumps({"final_loss": final_loss}))
    training = Training(
        epochs=epochs,
        batch_size=config.training.batch_size,
        seed=config.training.seed,
        learning_rate=config.training.learning_rate,
        n_train=len(x_train),
        representative_samples=0,  # set once the calibration set is drawn
        final_loss=round(final_loss, 6),
        tensorflow_version=_pkg_version("tensorflow"),
    )
    return model, training


def train_model(
    config: Config, source: DataSource, name: str, data: Dataset, progress: Progress
) -> None:
    """Train model `name` (built in or a builder's) into the store."""
    from tinyreport.pipeline import train

    spec = config.models[name]
    epochs = config.epochs_for(name)
    train.seed_everything(config.training.seed)
    if spec.kind == "keras":
        progress.stage(name, f"building with {spec.builder}")
        model = train.build_from_builder(name, spec, config.root, data.input_shape, data.n_classes)
    else:
        model = train.build_model(name, spec, data.input_shape, data.n_classes)
    progress.stage(name, "training", total=epochs)
    try:
        model, final_loss = train.train(
            model,
            config.training,
            epochs,
            preprocess(data.x_train),
            data.y_train,
            on_epoch=lambda done, total, loss: progress.step(done, total, f"loss {loss:.4f}"),
        )
    except (ValueError, TypeError) as exc:  # a builder's model that cannot be trained
        if spec.kind != "keras":
            raise
        raise ConfigError(
            f"model {name}: training the model from {spec.builder} failed "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    store.save(store_entry(config, source, name), model, final_loss)


def _stored(config: Config, p: ModelPlan, x_train, progress: Progress):
    """Load a stored trained model; return (model, Training)."""
    progress.stage(p.name, "loading the stored model")
    model, final_loss = _load_trained(p)
    info = store.read_info(store.Entry(p.name, p.train_key, {}, p.train_dir))
    training = Training(
        epochs=config.epochs_for(p.name),
        batch_size=config.training.batch_size,
        seed=config.training.seed,
        learning_rate=config.training.learning_rate,
        n_train=len(x_train),
        representative_samples=0,  # set once the calibration set is drawn
        final_loss=round(final_loss, 6),
        tensorflow_version=(info.get("trained_with") or {}).get("tensorflow", "unknown"),
    )
    return model, training


ALONE_FILE = "alone.keras"  # a distilled model's architecture trained without its teacher


def _distill(config: Config, p: ModelPlan, data: Dataset, x_train, progress: Progress):
    """Train the student from its teacher, and the same student alone (same seed, epochs);
    save the one trained alone beside it; return (student, final loss)."""
    import keras

    from tinyreport.pipeline import optimize, train

    spec = config.models[p.name]
    epochs = config.epochs_for(p.name)
    teacher_path = p.teacher_dir / FILES["keras"]
    if not teacher_path.is_file():
        raise ConfigError(
            f"model {p.name}: its teacher {spec.teacher} has no trained model yet; collect "
            f"{spec.teacher} first (collect builds it first without --only and --jobs)"
        )
    teacher = keras.models.load_model(teacher_path)

    def build():
        train.seed_everything(config.training.seed)
        if spec.kind == "keras":
            return train.build_from_builder(
                p.name, spec, config.root, data.input_shape, data.n_classes
            )
        return train.build_model(p.name, spec, data.input_shape, data.n_classes)

    def step(done, total, loss):
        progress.step(done, total, f"loss {loss:.4f}")

    progress.stage(p.name, "training alone, for comparison", total=epochs)
    alone, _ = train.train(build(), config.training, epochs, x_train, data.y_train, step)
    p.train_dir.mkdir(parents=True, exist_ok=True)
    tmp = p.train_dir / ".alone.tmp.keras"
    alone.save(tmp)
    tmp.replace(p.train_dir / ALONE_FILE)
    progress.stage(p.name, f"training from teacher {spec.teacher}", total=epochs)
    return optimize.distill(
        build(),
        teacher,
        config.training,
        epochs,
        x_train,
        data.y_train,
        spec.alpha,
        spec.temperature,
        step,
    )


def _load_user_keras(config: Config, name: str, data: Dataset):
    """Load a trained .keras file of the user's; check it fits the data."""
    import keras

    spec = config.models[name]
    path = config.path(spec.path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a file it cannot read
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelFileError(
            f"model {name}: cannot load {spec.path} as a Keras model ({type(exc).__name__}"
            + (f": {first[:200]}" if first else "")
            + ")"
        ) from None
    _check_fits(name, spec.path, _shape(model.input_shape), _shape(model.output_shape), data)
    return model


def _shape(shape) -> tuple[int, ...] | None:
    """A single tensor's shape without its batch axis; None for several inputs or outputs."""
    if isinstance(shape, list):
        return None if len(shape) != 1 else _shape(shape[0])
    return tuple(shape[1:])


def _check_fits(name: str, what: str, inp, out, data: Dataset) -> None:
    """Raise ModelFileError unless a model takes the data's samples and predicts its classes."""
    if inp is None or out is None:
        raise ModelFileError(f"model {name}: {what} must have one input and one output")
    if inp != data.input_shape:
        raise ModelFileError(
            f"model {name}: {what} takes inputs of shape {inp}, the data has samples of "
            f"shape {data.input_shape}"
        )
    if out != (data.n_classes,):
        raise ModelFileError(
            f"model {name}: {what} has outputs of shape {out}, the data has "
            f"{data.n_classes} classes"
        )


def build_model(config: Config, p: ModelPlan, data: Dataset, progress: Progress) -> ModelResult:
    """Train (or reuse or load) a Keras model, convert, evaluate and measure it."""
    import keras

    from tinyreport.pipeline import convert, evaluate, optimize, train

    spec = config.models[p.name]
    if spec.kind == "tflite":
        return _build_tflite(config, p, data, progress)
    # Keras numbers layers (dense, dense_1, ...) across the whole process, and the names end
    # up in the .tflite: start every model afresh, so its bytes do not depend on which models
    # were built before it (in this process, or by `--only` or `--jobs` elsewhere).
    keras.backend.clear_session()
    x_train, x_test = preprocess(data.x_train), preprocess(data.x_test)
    if spec.kind == "keras" and spec.path is not None:
        progress.stage(p.name, f"loading {spec.path}")
        model, training = _load_user_keras(config, p.name, data), None
        keras_path = config.path(spec.path)
    else:
        model, training = _train(config, p, data, x_train, progress)
        keras_path = p.keras_path

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
    extra = getattr(spec, "optimize", [])
    if "float16" in extra:
        flatbuffers["tflite_float16"] = convert.to_float16(model)
    if "dynamic" in extra:
        flatbuffers["tflite_dynamic_int8"] = convert.to_dynamic_int8(model)
    if "int16x8" in extra:
        flatbuffers["tflite_int16x8"] = convert.to_int16x8(model, calibration)
    details: dict[str, dict] = {}
    if "prune" in extra:
        flatbuffers["tflite_pruned_int8"], details["tflite_pruned_int8"] = _pruned(
            config, p, model, x_train, data, calibration, progress
        )
    for kind, blob in flatbuffers.items():
        write_atomic(p.result_dir / FILES[kind], blob)

    progress.stage(p.name, "evaluating on the test set")
    root = config.root.resolve()
    keras_pred = evaluate.keras_predict(model, x_test)
    predictions = {"keras": keras_pred}
    variants = {
        "keras": Variant(
            kind="keras",
            path=_rel(keras_path, root),
            size_bytes=keras_path.stat().st_size,
            # The stored (or the user's) file itself: an input, so its bytes are stable.
            sha256=hashlib.sha256(keras_path.read_bytes()).hexdigest(),
            evaluation=evaluate.summarize(
                keras_pred, data.y_test, data.n_classes, evaluate.keras_runtime()
            ),
        )
    }
    for kind, blob in flatbuffers.items():
        variants[kind], predictions[kind] = _tflite_variant(
            config, p, kind, p.result_dir / FILES[kind], blob, data, x_test, progress
        )
    for kind, extra_details in details.items():
        extra_details["gzip_bytes"] = optimize.gzip_bytes(flatbuffers[kind])
        variants[kind] = replace(variants[kind], details=extra_details)
    if details:
        int8 = variants["tflite_int8"]
        variants["tflite_int8"] = replace(
            int8,
            details={
                **(int8.details or {}),
                "gzip_bytes": optimize.gzip_bytes(flatbuffers["tflite_int8"]),
            },
        )
    for kind in OPTIONAL_KINDS | {"tflite_pruned_int8"}:  # agreement with float, as for int8
        if kind in variants and predictions.get(kind) is not None:
            same = float((predictions[kind] == predictions["tflite_float"]).mean())
            v = variants[kind]
            variants[kind] = replace(
                v, details={**(v.details or {}), "agreement_float": round(same, 6)}
            )
    agreement = float((predictions["tflite_int8"] == predictions["tflite_float"]).mean())
    skipped: dict[str, str] = {}
    if "qat" in extra:
        skipped["tflite_qat_int8"] = QAT_NOT_BUILT
    if config.espdl.enabled:
        espdl_variant = _espdl_variant(config, p, calibration, x_test, data, predictions, progress)
        if isinstance(espdl_variant, str):
            skipped["espdl_int8"] = espdl_variant
        else:
            variants["espdl_int8"] = espdl_variant
    distillation = None
    if p.teacher_dir is not None:
        alone = keras.models.load_model(p.train_dir / ALONE_FILE)
        alone_pred = evaluate.keras_predict(alone, x_test)
        distillation = {
            "teacher": spec.teacher,
            "alpha": spec.alpha,
            "temperature": spec.temperature,
            "alone_accuracy": round(float((alone_pred == data.y_test).mean()), 6),
            "provenance": "measured-host",
        }
    if training is not None:
        training = replace(training, representative_samples=len(calibration))
    result = ModelResult(
        name=p.name,
        kind=spec.kind,
        architecture=train.describe(model),
        params=int(model.count_params()),
        training=training,
        variants=variants,
        agreement_int8_float=round(agreement, 6),
        cache_key=p.result_key,
        source=_source_info(config, p.name),
        config=spec.model_dump(),
        skipped=skipped,
        distillation=distillation,
    )
    write_atomic(p.result_path, dumps(result.to_dict()))
    return result


def _espdl_key(config: Config) -> dict:
    """What the espdl_int8 variant depends on beyond the float TFLite file and calibration."""
    if not config.espdl.enabled:
        return {"enabled": False}
    from tinyreport.pipeline import espdl

    return {**config.espdl.model_dump(), **espdl.versions()}


def _espdl_variant(config, p, calibration, x_test, data, predictions, progress) -> Variant | str:
    """Quantize the float TFLite file with ESP-PPQ and evaluate it on the host; return the
    variant, or the sentence saying why it was not built (the extra is not installed)."""
    from tinyreport.analysis.espdl_reader import parse_espdl
    from tinyreport.pipeline import espdl, evaluate

    if espdl.missing():
        return espdl.NOT_BUILT
    cfg = config.espdl
    progress.stage(p.name, f"quantizing with ESP-PPQ for the {cfg.target} (ESP-DL int8)")
    built = espdl.build(
        p.name,
        p.result_dir / FILES["tflite_float"],
        calibration,
        x_test,
        cfg.target,
        cfg.error_samples,
        cfg.int16_layers,
    )
    path = p.result_dir / FILES["espdl_int8"]
    write_atomic(path, built.espdl)
    model = parse_espdl(built.espdl, path.name)
    runtime = f"esp-ppq {espdl.versions()['esp-ppq']} TorchExecutor (host simulation)"
    graphwise = [{"layer": k, "nsr": round(v, 8)} for k, v in built.graphwise.items()]
    layerwise = [{"layer": k, "nsr": round(v, 8)} for k, v in built.layerwise.items()]
    details = {
        "provenance": SIMULATED_HOST,
        "target": cfg.target,
        "scheme": "int8 weights and activations, per-tensor power-of-two scales (ESP-PPQ)",
        "agreement_tflite_int8": round(
            float((built.predictions == predictions["tflite_int8"]).mean()), 6
        ),
        "file": model.to_dict(),
        "graphwise": graphwise,
        "layerwise": layerwise,
        "output_nsr": graphwise[-1]["nsr"] if graphwise else None,
        "error_samples": built.error_samples,
        "thresholds": {"output_nsr": espdl.OUTPUT_NSR_LIMIT, "layer_nsr": espdl.LAYER_NSR_LIMIT},
        "not_measured": ["internal RAM", "PSRAM", "parameter copy", "latency"],
        "mixed": None,
    }
    if built.mixed is not None:
        mixed_path = p.result_dir / "mixed.espdl"
        write_atomic(mixed_path, built.mixed["espdl"])
        details["mixed"] = {
            "int16_layers": built.mixed["layers"],
            "path": _rel(mixed_path, config.root.resolve()),
            "size_bytes": len(built.mixed["espdl"]),
            "sha256": hashlib.sha256(built.mixed["espdl"]).hexdigest(),
            "accuracy": round(float((built.mixed["predictions"] == data.y_test).mean()), 6),
            "file": parse_espdl(built.mixed["espdl"], mixed_path.name).to_dict(),
        }
    return Variant(
        kind="espdl_int8",
        path=_rel(path, config.root.resolve()),
        size_bytes=len(built.espdl),
        sha256=hashlib.sha256(built.espdl).hexdigest(),
        evaluation=evaluate.summarize(built.predictions, data.y_test, data.n_classes, runtime),
        details=details,
    )


def _pruned(config, p, model, x_train, data, calibration, progress) -> tuple[bytes, dict]:
    """Prune a copy of the model to the configured sparsity, fine-tune it, convert to int8."""
    from tinyreport.pipeline import convert, optimize, train

    spec = config.models[p.name]
    epochs = max(1, config.epochs_for(p.name) // 2)
    progress.stage(p.name, f"pruning to {spec.sparsity:.0%} and fine-tuning {epochs} epoch(s)")
    train.seed_everything(config.training.seed)
    pruned = optimize.prune(model, spec.sparsity, config.training, epochs, x_train, data.y_train)
    details = {
        "method": "one-shot magnitude pruning per layer (Keras 3 callback), fine-tuned",
        "target_sparsity": spec.sparsity,
        "sparsity": round(optimize.kernel_sparsity(pruned), 6),
        "fine_tune_epochs": epochs,
    }
    return convert.to_int8(pruned, calibration), details


def _source_info(config: Config, name: str) -> dict:
    """Where a model came from, for the model card: kind, file or builder, and its sha256."""
    spec = config.models[name]
    if spec.kind in ("mlp", "cnn"):
        return {"kind": "built-in", "model": spec.kind}
    info = {"kind": spec.kind, **_source_key(config, name)}
    if getattr(spec, "builder", None):
        info["builder"] = spec.builder
    else:
        info["path"] = spec.path
    return info


def _tflite_variant(config, p, kind, path, blob, data, x_test, progress):
    """Evaluate and measure one TFLite flatbuffer; return (Variant, predictions or None)."""
    from tinyreport.pipeline import evaluate
    from tinyreport.pipeline.tflm_host import measure_host_arena

    root = config.root.resolve()
    inp, out, dtypes = evaluate.io_details(blob)
    mismatch = evaluate.mismatch(inp, out, data.input_shape, data.n_classes)
    pred = None if mismatch else evaluate.tflite_predict(blob, x_test)
    progress.stage(p.name, f"measuring the {kind} arena on host TFLM")
    try:
        host, no_arena = measure_host_arena(path), None
    except ModelFileError as exc:
        if kind not in OPTIONAL_KINDS:  # a model the user gave, or int8: TFLM must run it
            raise
        host, no_arena = None, _tflm_refusal(exc, path, root)
    variant = Variant(
        kind=kind,
        path=_rel(path, root),
        size_bytes=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        evaluation=None
        if pred is None
        else evaluate.summarize(pred, data.y_test, data.n_classes, evaluate.litert_runtime()),
        not_evaluated=mismatch,
        arena=None
        if host is None
        else HostArena(
            host_bytes=host.total_bytes,
            head_bytes=host.head_bytes,
            tail_bytes=host.tail_bytes,
            machine=host.machine,
            tflm_version=host.tflm_version,
        ),
        no_arena=no_arena,
        input=inp,
        output=out,
        tensor_dtypes=dtypes,
    )
    return variant, pred


QAT_NOT_BUILT = (
    "not built: quantization-aware training in TensorFlow is tensorflow-model-optimization, "
    "which wraps layers with tf-keras (Keras 2) and does not take the Keras 3 models "
    "tinyreport trains; Keras 3 has no quantization-aware training that the TFLite converter "
    "turns into an int8 model"
)
# Variants made on request; TFLM may refuse them, which the results then say (with its reason).
OPTIONAL_KINDS = {"tflite_float16", "tflite_dynamic_int8", "tflite_int16x8"}


def _tflm_refusal(exc: ModelFileError, path: Path, root: Path) -> str:
    """Why TFLM cannot run `path`: what the TFLM wheel said, then the analysis's explanation."""
    from tinyreport.analysis.analyze import analyze

    said = str(exc).split(": ", 1)[-1]
    try:
        analyze(path)
        why = ""
    except ModelFileError as explained:
        why = str(explained).replace(f"{path}: ", "").replace(str(path), path.name)
    return f"TFLM refuses it: {said}" + (f". {why}" if why else "")


def _build_tflite(config: Config, p: ModelPlan, data: Dataset, progress: Progress) -> ModelResult:
    """Report a .tflite file as what it is: one variant, evaluated where its input fits."""
    from tinyreport.analysis.tflite_reader import read_model
    from tinyreport.pipeline import evaluate

    spec = config.models[p.name]
    source = config.path(spec.path)
    model = read_model(source)  # a file tinyreport cannot read is one ModelFileError
    blob = source.read_bytes()
    try:
        inp, _, _ = evaluate.io_details(blob)
    except Exception as exc:  # LiteRT's words for a model it cannot load
        raise ModelFileError(
            f"model {p.name}: LiteRT cannot load {spec.path} ({type(exc).__name__})"
        ) from None
    kind = TFLITE_KIND_BY_INPUT.get(inp.dtype)
    if kind is None:
        raise ModelFileError(
            f"model {p.name}: {spec.path} takes {inp.dtype} inputs; tinyreport reports "
            "float32, int8 and int16 models"
        )
    path = p.result_dir / FILES[kind]
    write_atomic(path, blob)  # the copy that results and the firmware name
    progress.stage(p.name, "evaluating on the test set")
    variant, _ = _tflite_variant(
        config, p, kind, path, blob, data, preprocess(data.x_test), progress
    )
    result = ModelResult(
        name=p.name,
        kind="tflite",
        architecture=[
            f"{op} x {sum(o.op == op for o in model.operators)}" for op in model.op_types
        ],
        params=sum(t.n_elements for t in model.tensors if t.is_constant),
        training=None,
        variants={kind: variant},
        agreement_int8_float=None,
        cache_key=p.result_key,
        source=_source_info(config, p.name),
        config=spec.model_dump(),
    )
    write_atomic(p.result_path, dumps(result.to_dict()))
    return result


def analyze_variants(config: Config, model: ModelResult) -> ModelResult:
    """Add the memory analysis for the configured board to both TFLite variants."""
    from tinyreport.analysis.analyze import analyze

    variants = dict(model.variants)
    for kind in model.tflite_kinds:  # those TFLM can run
        document = analyze(config.root.resolve() / variants[kind].path, config.board)
        document["model"]["path"] = variants[kind].path  # relative: results must not name /home
        variants[kind] = replace(variants[kind], analysis=document)
    return replace(model, variants=variants)


# Runs kept in the results per model variant and provenance, the latest first in log order:
# 200 MB of logs hold some 50,000 runs, and the results file and pages must stay small.
MAX_DEVICE_RUNS = 20
# Problems listed per log in the results (the first ones; a count says how many more).
MAX_LOG_PROBLEMS = 20


def attach_device_runs(
    config: Config,
    models: list[ModelResult],
    warn: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> tuple[list[ModelResult], list[dict]]:
    """Ingest every log in the logs folder; attach each run to the model variant it ran.

    A log that holds no device record (a stray file) stops nothing: it is listed with that
    problem first, and `warn` is told. Of each model variant, the latest MAX_DEVICE_RUNS
    measured runs and the latest MAX_DEVICE_RUNS simulated ones are kept (logs in name order:
    capture names start with their time); each log says how many of its runs were kept.
    """
    logs_dir = config.path(config.output.logs_dir)
    paths = sorted(p for p in logs_dir.glob("*.log") if p.is_file()) if logs_dir.is_dir() else []
    if not paths:
        return models, []
    from tinyreport.device.serial.ingest import gave_nothing, ingest_reports

    owner = {
        v.sha256: (m.name, kind)
        for m in models
        for kind, v in m.variants.items()
        if kind.startswith("tflite_")
    }
    known = {sha: f"{name}_{kind.removeprefix('tflite_')}" for sha, (name, kind) in owner.items()}
    on_bytes = None if progress is None else progress.bytes_read
    # Logs are named relative to the project everywhere, problems included.
    reports = ingest_reports(
        paths,
        known,
        relative_to=config.root.resolve(),
        progress=on_bytes,
        patterns=config.log_patterns(),
    )

    # The latest runs of each model variant and provenance, as (log index, run index).
    latest: dict[tuple[str, str, object], list[tuple[int, int]]] = {}
    for i, report in enumerate(reports):
        for j, run in enumerate(report.runs):
            if run["model_known"]:
                group = (*owner[run["model_id"]], run["provenance"])
                kept = latest.setdefault(group, [])
                kept.append((i, j))
                del kept[:-MAX_DEVICE_RUNS]
    chosen = {place: group for group, places in latest.items() for place in places}

    runs: dict[str, list[dict]] = {m.name: [] for m in models}
    logs = []
    for i, report in enumerate(reports):
        n_kept = 0
        for j, run in enumerate(report.runs):
            group = chosen.get((i, j))
            if group is not None:
                runs[group[0]].append({**run, "variant": group[1]})
                n_kept += 1
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
        if len(problems) > MAX_LOG_PROBLEMS:
            more = len(problems) - MAX_LOG_PROBLEMS
            problems = problems[:MAX_LOG_PROBLEMS] + [
                f"{more} more problem(s); `tinyreport ingest {report.path}` lists them all"
            ]
        logs.append(
            {
                "path": report.path,
                "n_boots": report.n_boots,
                "n_records": report.n_records,
                "n_runs": len(report.runs),
                "n_runs_kept": n_kept,
                "n_runs_unknown_model": sum(not r["model_known"] for r in report.runs),
                "problems": problems,
            }
        )
    return [replace(m, device=runs[m.name]) for m in models], logs


def _dataset_info(config: Config, source: DataSource, data: Dataset | None) -> DatasetInfo:
    """Describe the data; shape, sizes and class names come from a small cached record.

    A warm collect loads no arrays, so what the arrays say is kept beside the artifacts,
    keyed by the data's sha256 and the dataset section.
    """
    key = _hash({"data": source.sha256, "dataset": config.dataset.model_dump()})
    record = config.path(config.output.artifacts_dir) / "datasets" / f"{key}.json"
    if data is None:
        try:
            return DatasetInfo(**json.loads(record.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            data = load_dataset(config.dataset, source)
    info = DatasetInfo(
        description=source.description,
        sha256=source.sha256,
        n_train=len(data.y_train),
        n_test=len(data.y_test),
        input_shape=list(data.input_shape),
        labels=list(data.labels),
    )
    record.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(record, dumps(asdict(info)))
    return info


def attach_espdl_profiles(config: Config, models: list[ModelResult]) -> list[ModelResult]:
    """Put what ESP-DL's profilers printed on a board (memory, latency) on the model's ESP-DL
    variant, from every log in the logs folder; the log that comes last in name order wins."""
    logs_dir = config.path(config.output.logs_dir)
    if not logs_dir.is_dir():
        return models
    from tinyreport.device.serial.espdl_log import espdl_device_figures, parse_espdl_profiles

    found: dict[str, dict] = {}
    for path in sorted(p for p in logs_dir.glob("*.log") if p.is_file()):
        with path.open(encoding="utf-8", errors="replace") as lines:
            found |= espdl_device_figures(
                parse_espdl_profiles(lines), _rel(path, config.root.resolve())
            )
    out = []
    for m in models:
        v = m.variants.get("espdl_int8")
        if v is not None and m.name in found:
            v = replace(v, details={**v.details, "device": found[m.name]})
            m = replace(m, variants={**m.variants, "espdl_int8": v})
        out.append(m)
    return out


def check_outputs(
    config: Config,
    results_path: Path | None = None,
    pages: bool = True,
    models: list[str] | None = None,
) -> None:
    """Refuse outputs that cannot be written, or that would replace a file tinyreport did not
    write (a page without the generated mark, a results file that is not one), all of them at
    once, before any long work."""
    from tinyreport.site import render as site

    root = config.root.resolve()
    out = config.output
    docs_dir = config.path(out.docs_dir)
    pages_dir = config.path(out.pages_dir)
    results_file = results_path or config.path(out.results)
    checks = [
        ("artifacts_dir", config.path(out.artifacts_dir), True),
        ("docs_dir", docs_dir, True),
        ("docs_dir", docs_dir / site.PLOTLY_ASSET, False),
        ("results", results_file, False),
        ("pages_dir", pages_dir, True),
    ]
    if not pages:
        checks = [c for c in checks if c[0] != "pages_dir"]
    problems: dict[str, str] = {}
    for key, path, folder in checks:
        if key not in problems:
            problem = output_problem(path, folder, name=lambda p: _rel(p, root))
            if problem is not None:
                problems[key] = problem
    pages_out = [pages_dir / n for n in site.page_names(models or config.models)] if pages else []
    assets = list(site.asset_files(docs_dir)) if pages else []
    if "results" not in problems:
        if results_file in pages_out or results_file in assets:
            problems["results"] = f"{_rel(results_file, root)} is also a page or an asset"
        elif not is_results_file(results_file):
            problems["results"] = (
                f"{_rel(results_file, root)} exists and is not a tinyreport results file; "
                "writing the results there would replace it"
            )
    if pages and "pages_dir" not in problems:
        theirs = [path for path in pages_out if not site.page_is_ours(path)]
        if theirs:
            problems["pages_dir"] = (
                f"{_rel(theirs[0], root)} was not written by tinyreport (it lacks the generated "
                "mark); writing the pages there would replace it"
            )
    if pages and "docs_dir" not in problems:
        theirs = [path for path in assets if not site.asset_is_ours(path)]
        if theirs:
            problems["docs_dir"] = (
                f"{_rel(theirs[0], root)} was not written by tinyreport (it lacks the generated "
                "mark); tinyreport owns that folder: move the file elsewhere"
            )
    if problems:
        raise ConfigError(
            "outputs that cannot be written; change [output] or the files in the way:\n"
            + "\n".join(f"Config value 'output.{key}': {text}" for key, text in problems.items())
        )


def _build_in_child(config: Config, p: ModelPlan, source: DataSource) -> ModelResult:
    """Build one model in a worker process (collect --jobs): its own data, no progress bar."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    data = load_dataset(config.dataset, source)
    with native_output_to(p.result_dir / "tensorflow.log"):
        determinism.configure()
        return build_model(config, p, data, Progress())


def _build(config: Config, todo: list[ModelPlan], source: DataSource, progress, jobs: int):
    """Build the models that are not cached, `jobs` at a time; return {name: ModelResult}."""
    root = config.root.resolve()
    built: dict[str, ModelResult] = {}
    if not todo:
        return built
    current = todo[0]
    try:
        if jobs > 1 and len(todo) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            progress.stage("collect", f"building {len(todo)} models, {jobs} at a time")
            # spawn: TensorFlow does not survive fork, and each worker imports it afresh
            with ProcessPoolExecutor(
                max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
            ) as pool:
                # A student waits for its teacher (defined above it, so built earlier) when both
                # are being built; the others start at once.
                building = {q.train_dir for q in todo}
                futures = {
                    p.name: pool.submit(_build_in_child, config, p, source)
                    for p in todo
                    if p.teacher_dir not in building
                }
                for p in todo:
                    current = p
                    if p.name not in futures:
                        futures[p.name] = pool.submit(_build_in_child, config, p, source)
                    built[p.name] = futures[p.name].result()
            return built
        data = None
        for current in todo:
            data = data or load_dataset(config.dataset, source)
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            with native_output_to(current.result_dir / "tensorflow.log"):
                determinism.configure()
                built[current.name] = build_model(config, current, data, progress)
        return built
    except OSError as exc:
        where = _rel(Path(str(exc.filename or current.result_dir)), root)
        raise OutputError(
            f"cannot write the artifacts of model {current.name}: {where} ({reason(exc)})"
        ) from None


def check_backend(config: Config) -> None:
    """Refuse `[training] backend = "jax"` with the reason, before any work."""
    if config.training.backend == "tensorflow":
        return
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        raise ConfigError(
            "Config value 'training.backend': \"jax\" needs the jax package, which is not "
            'installed; install it (pip install jax) or use backend = "tensorflow"'
        )
    raise ConfigError(
        "Config value 'training.backend': training under \"jax\" is not supported yet: Keras "
        "picks its backend once per process, and conversion to TFLite needs TensorFlow's; "
        'use backend = "tensorflow"'
    )


DOWNLOADS = "downloads"  # under docs_dir: the .tflite files, copied for the model cards


def download_files(
    config: Config, results: Results, results_path: Path
) -> tuple[dict[Path, bytes], dict, list[Path]]:
    """The files the model cards offer, the cards' links (relative to the pages folder), and
    the download files a previous collect left (removed unless produced again).

    The .tflite files are copied into the docs (about 640 KB for the default models; the folder
    is not committed). The firmware's C arrays are linked in the repository instead (2.6 MB),
    and only when the committed one embeds this very model (its sha256).
    """
    from tinyreport.device.firmware import DEFAULT_OUT, VARIANTS, c_name
    from tinyreport.site.render import REPOSITORY

    root = config.root.resolve()
    docs_dir = config.path(config.output.docs_dir)
    pages_dir = config.path(config.output.pages_dir)
    folder = docs_dir / DOWNLOADS

    def rel(path: Path) -> str | None:
        try:
            path.relative_to(docs_dir)
        except ValueError:
            return None  # outside the site: MkDocs would not publish it
        return os.path.relpath(path, pages_dir).replace(os.sep, "/")

    files: dict[Path, bytes] = {}
    links: dict = {"results": rel(results_path), "downloads": {}}
    for m in results.models:
        entries = links["downloads"].setdefault(m.name, [])
        for kind in m.tflite_kinds:
            variant = m.variants[kind]
            blob = (root / variant.path).read_bytes()
            dest = folder / m.name / FILES[kind]
            files[dest] = blob
            title = kind.removeprefix("tflite_")
            entries.append(
                {"label": f"{title} TFLite model", "href": rel(dest), "size_bytes": len(blob)}
            )
        for kind in [k for k in VARIANTS if k in m.variants]:
            name = c_name(m.name, kind)
            source = config.path(str(DEFAULT_OUT)) / f"model_{name}.cc"
            try:
                with source.open(encoding="utf-8") as f:
                    head = "".join(f.readline() for _ in range(5))
                size = source.stat().st_size
            except (OSError, UnicodeDecodeError):
                continue
            if m.variants[kind].sha256 in head:
                entries.append(
                    {
                        "label": f"C array of the {kind.removeprefix('tflite_')} model "
                        "(firmware source, in the repository)",
                        "href": f"{REPOSITORY}/blob/main/{_rel(source, root)}",
                        "size_bytes": size,
                    }
                )
    old = sorted(p for p in folder.glob("*/*.tflite") if p.is_file()) if folder.is_dir() else []
    return files, links, old


def _existing(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def collect(
    config: Config,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    only: list[str] | None = None,
    jobs: int = 1,
    results_path: Path | None = None,
    pages: bool = True,
    retrain: Collection[str] = (),
) -> str:
    """Bring every model's results up to date, write results and pages; return a summary.

    A model in the store is used as it is; a model is trained only when the store has none for
    its key, or when its name is in `retrain` (which replaces the stored one). `only` limits
    the run (and the results file) to some models; `jobs` builds that many models at once in
    worker processes; `results_path` writes the results elsewhere and `pages=False` writes no
    page (the parts of a `merge`). Results, pages and assets are published together at the
    end: an error or Ctrl-C before then leaves the previous set as it was. `warn` hears about
    logs that hold no record.
    """
    progress = progress or Progress()
    for option, names in (("--only", only or []), ("--retrain", retrain)):
        unknown = [name for name in names if name not in config.models]
        if unknown:
            raise ConfigError(
                f"{option} names {', '.join(unknown)}, which tinyreport.toml does not define "
                f"(its models: {', '.join(config.models)})"
            )
    check_backend(config)
    check_outputs(config, results_path, pages, only)
    root = config.root.resolve()
    source = resolve_source(config.dataset, config.root)
    names = [name for name in config.models if not only or name in only]

    # Training first, into the store: only what the store lacks, or what --retrain names.
    trained: list[str] = []
    data: Dataset | None = None
    for name in names:
        if not trained_here(config, name):
            continue
        if name not in retrain and store_entry(config, source, name).exists():
            continue
        data = data or load_dataset(config.dataset, source)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        log = config.path(config.output.artifacts_dir) / name / "tensorflow.log"
        try:
            with native_output_to(log):
                determinism.configure()
                train_model(config, source, name, data, progress)
        except OSError as exc:
            where = _rel(Path(str(exc.filename or log)), root)
            raise OutputError(
                f"cannot write the artifacts of model {name}: {where} ({reason(exc)})"
            ) from None
        trained.append(name)

    plans = [plan_model(config, source, name) for name in names]
    cached = {p.name: _load_cached(p) for p in plans}
    todo = [p for p in plans if cached[p.name] is None]
    built = _build(config, todo, source, progress, jobs)
    models = [cached[p.name] or built[p.name] for p in plans]
    figures = {
        p.name: {
            "training": run_info.TRAINED
            if p.name in trained
            else run_info.STORE
            if trained_here(config, p.name)
            else run_info.USER_FILE,
            "conversion_evaluation_arena": run_info.COMPUTED if p.name in built else run_info.CACHE,
        }
        for p in plans
    }

    models = [analyze_variants(config, m) for m in models]
    models, device_logs = attach_device_runs(config, models, warn, progress)
    models = attach_espdl_profiles(config, models)
    results = Results(
        tinyreport_version=__version__,
        board=config.board,
        dataset=_dataset_info(config, source, None),
        models=models,
        device_logs=device_logs,
    )
    summary = write_results(config, results, results_path, pages, figures)
    text = "rebuilt: " + (", ".join(p.name for p in todo) if todo else "nothing (all cached)")
    store_dir = config.path(config.output.model_store)
    if trained:
        text += f"; trained and stored in {_rel(store_dir, root)}: {', '.join(trained)}"
    if not only:
        unused = store.unused(store_dir, {p.train_dir for p in plans})
        if unused:
            kept = ", ".join(_rel(x, root) for x in unused)
            text += f"; not used now, kept in the store: {kept}"
    return f"{text}; {summary}"


def write_results(
    config: Config,
    results: Results,
    results_path: Path | None = None,
    pages: bool = True,
    figures: dict | None = None,
) -> str:
    """Publish the results file, and the pages, downloads and assets with it; summarise.

    The run block names the run that produced the figures: when the file there already states
    the same figures, its run block is kept (a reproduction changes no byte); otherwise this
    run is described, with `figures` (per model, where each figure family came from).
    """
    from tinyreport.site import render as site

    root = config.root.resolve()
    results_path = results_path or config.path(config.output.results)
    if not is_results_file(results_path):  # checked at the start too; it may have appeared since
        raise OutputError(
            f"{_rel(results_path, root)} is not a tinyreport results file; nothing was changed"
        )
    previous = _existing(results_path)
    if previous and previous.get("run") and run_info.same_figures(previous, results.to_dict()):
        run, reproduced = previous["run"], True
    else:
        run, reproduced = run_info.describe(root, figures or {}), False
    results = replace(results, run=run)
    files: dict[Path, str | bytes] = {results_path: dumps(results.to_dict())}
    page_texts: dict[Path, str] = {}
    stale: list[Path] = []
    if pages:
        downloads, links, old_downloads = download_files(config, results, results_path)
        page_texts, stale = site.page_files(results, config.path(config.output.pages_dir), links)
        files.update(site.asset_files(config.path(config.output.docs_dir)))
        files.update(downloads)
        files.update(page_texts)
        stale += [p for p in old_downloads if p not in downloads]
    changed = publish(files, stale, name=lambda path: _rel(path, root))
    if not pages:
        summary = f"results: {_rel(results_path, root)}; no pages written"
    else:
        n_pages = len(set(changed) & (set(page_texts) | set(stale)))
        summary = f"results: {_rel(results_path, root)}; pages changed: {n_pages}"
    if reproduced:
        summary += f"; same figures as the recorded run ({run.get('commit') or 'no commit'})"
    return summary


def merge(config: Config, parts: list[Path]) -> str:
    """Join the results files of separate collects (e.g. one per model), write results and
    pages; refuse parts that disagree on the board, the data or the format."""
    if not parts:
        raise ConfigError("merge needs at least one results file")
    check_outputs(config)
    loaded: list[tuple[Path, Results]] = []
    for path in parts:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
            part = Results.from_dict(data)
        except OSError as exc:
            raise OutputError(f"cannot read {path}: {reason(exc)}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path} is not a tinyreport results file ({exc})") from None
        # A part's model names become page paths and navigation titles: only names a
        # configuration could have given are taken.
        for m in part.models:
            if not isinstance(m.name, str) or not re.fullmatch(NAME_PATTERN, m.name):
                raise ConfigError(
                    f"{path} names a model {str(m.name)[:60]!r}, which is not a model name "
                    "tinyreport.toml allows (a-z, 0-9 and _, starting with a letter)"
                )
        loaded.append((path, part))
    first_path, first = loaded[0]
    models: dict[str, ModelResult] = {}
    logs: dict[str, dict] = {}
    for path, part in loaded:
        for what, a, b in (
            ("board", first.board, part.board),
            ("data set", first.dataset.sha256, part.dataset.sha256),
            ("tinyreport version", first.tinyreport_version, part.tinyreport_version),
        ):
            if a != b:
                raise ConfigError(
                    f"{path} was collected with another {what} than {first_path} "
                    f"({b} against {a}); merge parts of one configuration"
                )
        for m in part.models:
            if m.name in models and models[m.name].to_dict() != m.to_dict():
                raise ConfigError(
                    f"model {m.name} is in two parts with different results ({path} and an "
                    "earlier one); collect it once"
                )
            models[m.name] = m
        for log in part.device_logs:
            logs.setdefault(log["path"], log)
    order = [name for name in config.models if name in models]
    order += sorted(set(models) - set(order))
    results = Results(
        tinyreport_version=first.tinyreport_version,
        board=first.board,
        dataset=first.dataset,
        models=[models[name] for name in order],
        device_logs=[logs[path] for path in sorted(logs)],
    )
    figures: dict = {}
    for _, part in loaded:
        figures.update((part.run or {}).get("figures") or {})
    summary = write_results(config, results, figures=figures)
    return f"merged {len(parts)} files, {len(models)} models; {summary}"
