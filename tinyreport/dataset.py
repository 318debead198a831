"""Data from the bundled MNIST, a Keras data set or a user file, verified; one preprocessing."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyreport.config import DatasetConfig
from tinyreport.errors import DataError

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
BUNDLED_MNIST = Path(__file__).parent / "data" / "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
# Class names of the Keras data sets, in label order (from their documentation).
KERAS_LABELS = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
    "cifar10": [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ],
}  # fmt: skip
KERAS_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}


@dataclass(frozen=True)
class DataSource:
    """Which file holds the data and what it hashes to (`keras_name`: a Keras data set)."""

    path: Path | None
    sha256: str
    description: str
    keras_name: str | None = None


@dataclass(frozen=True)
class Dataset:
    """Raw inputs (uint8 or float32) and integer labels, cut to the configured sizes."""

    source: DataSource
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[str]  # class names in label order

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def preprocess(x: np.ndarray) -> np.ndarray:
    """Scale uint8 inputs to float32 in [0, 1], use float inputs as stored (as float32).

    The one preprocessing for every stage: training, calibration, evaluation, test vectors.
    """
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32)


def quantize(x: np.ndarray, scale: float, zero_point: int, dtype=np.int8) -> np.ndarray:
    """Quantize float inputs to int8 (or int16) with a tensor's own scale and zero point."""
    q = np.round(x / np.float32(scale)) + zero_point
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def file_sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def keras_cache_path() -> Path:
    """Return where Keras keeps mnist.npz (honours KERAS_HOME)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _verified(path: Path, expected: str | None, what: str) -> str:
    """Return the file's sha256; raise DataError if it is missing or not the expected one."""
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist")
    actual = file_sha256(path)
    if expected and actual != expected:
        raise DataError(
            f"dataset file {path} has sha256 {actual[:12]}..., expected {expected[:12]}...; "
            f"the file is corrupt or not the expected {what}"
        )
    return actual


def resolve_source(cfg: DatasetConfig, root: Path) -> DataSource:
    """Locate the data and verify its checksum (a Keras data set other than MNIST is loaded)."""
    if cfg.source == "bundled":
        sha = _verified(BUNDLED_MNIST, MNIST_SHA256, "MNIST copy")
        return DataSource(BUNDLED_MNIST, sha, "MNIST, copy bundled with tinyreport", "mnist")
    if cfg.source == "keras" and cfg.name == "mnist":
        path = keras_cache_path()
        if not path.exists():
            _keras_arrays("mnist")  # downloads into the cache the normal Keras way
        sha = _verified(path, MNIST_SHA256, "MNIST copy")
        return DataSource(path, sha, "MNIST, Keras dataset cache", "mnist")
    if cfg.source == "keras":
        arrays = _keras_arrays(cfg.name)
        digest = hashlib.sha256()
        for key in KEYS:
            digest.update(f"{key}{arrays[key].dtype}{arrays[key].shape}".encode())
            digest.update(np.ascontiguousarray(arrays[key]).tobytes())
        title = KERAS_TITLES[cfg.name]
        return DataSource(None, digest.hexdigest(), f"{title}, Keras dataset cache", cfg.name)
    path = (root / cfg.path).resolve()
    return DataSource(path, _verified(path, cfg.sha256, "file"), f"user file {cfg.path}")


def _keras_arrays(name: str) -> dict[str, np.ndarray]:
    """Load a Keras data set (downloading it into the Keras cache if absent)."""
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"the Keras data set {name} is not in the Keras cache and could not be "
            f'downloaded ({type(exc).__name__}); use source = "bundled" (MNIST) or "npz" '
            "to work offline"
        ) from None
    return {
        "x_train": x_train,
        "y_train": np.asarray(y_train).reshape(-1),
        "x_test": x_test,
        "y_test": np.asarray(y_test).reshape(-1),
    }


DTYPE_KINDS = {"f": "floating-point numbers", "c": "complex numbers", "b": "booleans"}
DTYPE_KINDS |= {"U": "text", "S": "bytes", "M": "dates", "m": "time spans", "V": "records"}
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # what np.load takes for an .npz archive


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read the four arrays of an .npz archive; every way it can fail is a DataError."""
    try:
        with path.open("rb") as f:
            head = f.read(len(NPY_MAGIC))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    if not head:
        raise DataError(f"{path} is empty; expected an .npz archive made by numpy.savez")
    if head.startswith(NPY_MAGIC):
        raise DataError(
            f"{path} is a single .npy array, not an .npz archive; "
            f"save {', '.join(KEYS)} together with numpy.savez"
        )
    if not head.startswith(ZIP_MAGICS):
        raise DataError(f"{path} is not an .npz archive (a zip file made by numpy.savez)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path} lacks the arrays {', '.join(missing)}")
            return {k: npz[k] for k in KEYS}
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's words for an object array
            raise DataError(
                f"{path} holds an array of Python objects, which tinyreport does not load; "
                "save numeric arrays (uint8 images, integer labels)"
            ) from None
        raise DataError(f"{path} is a damaged or truncated .npz archive ({exc})") from None
    except Exception as exc:  # zipfile, zlib and numpy's format reader raise many types
        raise DataError(
            f"{path} is a damaged or truncated .npz archive ({type(exc).__name__}: {exc})"
        ) from None


def _check_split(path: Path | str, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Raise DataError unless x holds uint8 or float samples and y one integer label each."""
    if x.ndim < 2:
        raise DataError(
            f"{path}: x_{split} must hold samples along its first axis (shape (N, ...)), "
            f"got shape {x.shape}"
        )
    if x.dtype != np.uint8 and x.dtype.kind != "f":
        kind = DTYPE_KINDS.get(x.dtype.kind, f"{x.dtype} values")
        raise DataError(
            f"{path}: x_{split} must be uint8 (scaled to [0, 1]) or float (used as stored), "
            f"got {kind} ({x.dtype}); convert it with .astype(np.float32)"
        )
    if x.shape[0] == 0:
        raise DataError(f"{path}: x_{split} holds no samples; it needs at least one")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: x_{split} holds NaN or infinite values")
    if not np.issubdtype(y.dtype, np.integer):
        kind = DTYPE_KINDS.get(y.dtype.kind, "non-integer values")
        raise DataError(
            f"{path}: y_{split} must hold integer class labels, got {kind} ({y.dtype}); "
            "convert them with .astype(np.int64)"
        )
    if y.shape != (x.shape[0],):
        raise DataError(
            f"{path}: y_{split} must hold one label per sample, shape ({x.shape[0]},), "
            f"got {y.shape}"
        )
    if int(y.min()) < 0:
        raise DataError(f"{path}: y_{split} must hold labels from 0 up, got {int(y.min())}")


def load_dataset(cfg: DatasetConfig, source: DataSource) -> Dataset:
    """Load and check the arrays of a resolved source, cut to n_train / n_test."""
    if source.path is None:
        arrays, where = _keras_arrays(source.keras_name), f"Keras data set {source.keras_name}"
    else:
        arrays, where = _read_arrays(source.path), source.path
    for split in ("train", "test"):
        _check_split(where, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{where}: x_train and x_test must hold samples of one shape, got "
            f"{x_train.shape[1:]} and {x_test.shape[1:]}"
        )
    if (x_train.dtype == np.uint8) != (x_test.dtype == np.uint8):
        raise DataError(
            f"{where}: x_train is {x_train.dtype} and x_test {x_test.dtype}; give both the same "
            "kind (uint8 is scaled to [0, 1], float is used as stored)"
        )
    n_train, n_test = len(x_train), len(x_test)
    want_train, want_test = cfg.n_train or n_train, cfg.n_test or n_test
    if n_train < want_train or n_test < want_test:
        raise DataError(
            f"{where} has {n_train} training and {n_test} test samples, fewer than "
            f"dataset.n_train = {want_train} / dataset.n_test = {want_test} ask for"
        )
    y_train = arrays["y_train"][:want_train].astype(np.int64)
    y_test = arrays["y_test"][:want_test].astype(np.int64)
    top = int(max(y_train.max(), y_test.max()))
    if cfg.labels is not None:
        labels = list(cfg.labels)
        if top >= len(labels):
            raise DataError(
                f"{where} has label {top}, but dataset.labels names only {len(labels)} "
                f"classes (labels 0 to {len(labels) - 1})"
            )
    elif source.keras_name is not None:
        labels = KERAS_LABELS[source.keras_name]
    else:
        labels = [str(i) for i in range(top + 1)]
    if len(labels) < 2:
        raise DataError(f"{where} has a single class; a classifier needs at least two")
    return Dataset(source, x_train[:want_train], y_train, x_test[:want_test], y_test, labels)
