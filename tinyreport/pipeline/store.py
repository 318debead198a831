"""The model store: trained Keras models are inputs, committed, keyed by what produced them.

Training is not bit-reproducible across CPUs, so a trained model is kept, not remade: an entry
`<store>/<name>-<key>/` holds `model.keras` and `training.json` (the key's inputs, the final
loss, the versions that trained it). `collect` uses the entry whose key matches and trains only
when there is none, or when asked to (`collect --retrain`).

The key is the hash of the model's config section, the training settings, the data's sha256 and
size, the training recipe version and the Keras file-format major version. It leaves out the
TensorFlow and Keras versions that trained the model: an upgrade would otherwise invalidate every
stored model and retrain it, which gives other weights (and other numbers) for no change the
user made; the versions are recorded in `training.json` as provenance instead. Conversion and
evaluation are keyed by the exact versions (collect's result cache), since they run every time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from tinyreport.config import Config
from tinyreport.errors import ModelFileError
from tinyreport.fsutil import write_atomic

#: Bump when train.py changes what a given configuration trains (layers, optimizer, loss,
#: shuffling); a change that leaves the trained weights alone must not bump it.
TRAINING_RECIPE = 1
MODEL_FILE = "model.keras"
INFO_FILE = "training.json"
#: The store's own mark in every training.json; only folders carrying it are ever removed.
GENERATOR = "tinyreport collect"


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def key_inputs(
    config: Config,
    name: str,
    data_sha256: str,
    extra: dict | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> dict:
    """Everything that decides the trained weights of model `name`, as recorded in the store.

    `extra`: what else identifies it (a builder's source file, the data's class names).
    """
    spec = config.models[name]
    # Settings left at their defaults are left out: a new setting whose default keeps the old
    # behaviour must not retrain every stored model (bump TRAINING_RECIPE when a default that
    # changes the weights changes).
    return {
        **(extra or {}),
        "recipe": TRAINING_RECIPE,
        "model": spec.model_dump(exclude={"epochs"} | set(exclude), exclude_defaults=True),
        "training": {
            **config.training.model_dump(exclude_defaults=True),
            "epochs": config.epochs_for(name),
        },
        "data_sha256": data_sha256,
        "n_train": config.dataset.n_train,
        "keras_format": _version("keras").split(".")[0],
    }


def store_key(inputs: dict) -> str:
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """One model's place in the store."""

    name: str
    key: str
    inputs: dict
    folder: Path

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL_FILE

    @property
    def info_path(self) -> Path:
        return self.folder / INFO_FILE

    def exists(self) -> bool:
        return self.model_path.is_file() and self.info_path.is_file()

    def model_sha256(self) -> str:
        return hashlib.sha256(self.model_path.read_bytes()).hexdigest()


def entry(
    config: Config,
    name: str,
    data_sha256: str,
    extra: dict | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> Entry:
    """Where model `name` is (or would be) stored for the current configuration; `exclude`:
    settings of its section that do not change the trained weights."""
    inputs = key_inputs(config, name, data_sha256, extra, exclude)
    key = store_key(inputs)
    return Entry(name, key, inputs, config.path(config.output.model_store) / f"{name}-{key}")


def read_info(e: Entry) -> dict:
    """The entry's training.json; a damaged one is named, with what to do."""
    try:
        info = json.loads(e.info_path.read_text(encoding="utf-8"))
        loss = info["final_loss"]
        if isinstance(loss, bool) or not isinstance(loss, int | float):
            raise TypeError
    except OSError as exc:
        raise ModelFileError(f"cannot read {e.info_path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(
            f'{e.info_path} is damaged: it should hold {{"final_loss": <number>, ...}}; '
            f"run `tinyreport collect --retrain {e.name}` to train the model again"
        ) from None
    return info


def load(e: Entry):
    """Load the stored Keras model and its final training loss."""
    import keras

    final_loss = float(read_info(e)["final_loss"])
    try:
        model = keras.models.load_model(e.model_path)
    except Exception as exc:  # Keras raises many types for a damaged file
        raise ModelFileError(
            f"cannot read {e.model_path} ({type(exc).__name__}); "
            f"run `tinyreport collect --retrain {e.name}` to train the model again"
        ) from None
    return model, final_loss


def save(e: Entry, model, final_loss: float) -> None:
    """Write a freshly trained model into the store (replacing the entry's model, if any)."""
    from tinyreport.results import dumps

    e.folder.mkdir(parents=True, exist_ok=True)
    save_keras(model, e.model_path)
    info = {
        "generator": GENERATOR,
        "model": e.name,
        "key": e.key,
        "inputs": e.inputs,
        "final_loss": round(final_loss, 6),
        "trained_with": {p: _version(p) for p in ("tensorflow", "keras", "numpy")},
    }
    write_atomic(e.info_path, dumps(info))


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


def unused(store_dir: Path, used: set[Path]) -> list[Path]:
    """Entries of the store (folders carrying its mark) that no configured model uses now.

    They are kept: switching a setting back finds its model again. Delete one by hand (and
    commit) when it is no longer wanted.
    """
    found = []
    for folder in sorted(store_dir.glob("*-*")) if store_dir.is_dir() else []:
        if folder in used or not folder.is_dir():
            continue
        try:
            mark = json.loads((folder / INFO_FILE).read_text(encoding="utf-8")).get("generator")
        except (OSError, ValueError, AttributeError):
            continue
        if mark == GENERATOR:
            found.append(folder)
    return found
