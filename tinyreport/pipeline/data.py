"""MNIST from the bundled copy, the Keras cache or a user file, verified; one preprocessing."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyreport.config import DatasetConfig
from tinyreport.errors import DataError

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
BUNDLED_MNIST = Path(__file__).parents[1] / "data" / "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10


@dataclass(frozen=True)
class DataSource:
    """Which file holds the data and what it hashes to."""

    path: Path
    sha256: str
    description: str


@dataclass(frozen=True)
class Dataset:
    """Raw uint8 images and labels, cut to the configured sizes."""

    source: DataSource
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def preprocess(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1]; the one preprocessing for every stage."""
    return images.astype(np.float32) / np.float32(255.0)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantize float inputs to int8 with a tensor's own scale and zero point."""
    q = np.round(x / np.float32(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


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


def resolve_source(cfg: DatasetConfig, root: Path) -> DataSource:
    """Locate the dataset file and verify its checksum, without loading the arrays."""
    if cfg.source == "bundled":
        path, expected, desc = BUNDLED_MNIST, MNIST_SHA256, "MNIST, copy bundled with tinyreport"
    elif cfg.source == "keras":
        path, expected, desc = keras_cache_path(), MNIST_SHA256, "MNIST, Keras dataset cache"
        if not path.exists():
            _download_with_keras()
    else:
        path, expected = (root / cfg.path).resolve(), cfg.sha256
        desc = f"user file {cfg.path}"
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist")
    actual = file_sha256(path)
    if expected and actual != expected:
        raise DataError(
            f"dataset file {path} has sha256 {actual[:12]}..., expected {expected[:12]}...; "
            "the file is corrupt or not the expected MNIST copy"
        )
    return DataSource(path, actual, desc)


def _download_with_keras() -> None:
    """Fetch MNIST into the Keras cache the normal Keras way."""
    try:
        import keras

        keras.datasets.mnist.load_data()
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"MNIST is not in the Keras cache ({keras_cache_path()}) and could not be "
            f'downloaded ({type(exc).__name__}); use source = "bundled" to work offline'
        ) from None


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


def _check_split(path: Path, split: str, x: np.ndarray, y: np.ndarray) -> None:
    """Raise DataError unless x holds uint8 28x28 images and y one integer label 0-9 for each."""
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{path}: x_{split} must be uint8 images of shape (N, 28, 28), got {x.dtype} {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{path}: x_{split} holds no images; it needs at least one")
    if not np.issubdtype(y.dtype, np.integer):
        kind = DTYPE_KINDS.get(y.dtype.kind, "non-integer values")
        raise DataError(
            f"{path}: y_{split} must hold integer labels 0-9, got {kind} ({y.dtype}); "
            "convert them with .astype(np.uint8)"
        )
    if y.shape != (x.shape[0],):
        raise DataError(
            f"{path}: y_{split} must hold one label per image, shape ({x.shape[0]},), got {y.shape}"
        )
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= N_CLASSES:
        raise DataError(f"{path}: y_{split} must hold labels 0-9, got {low} to {high}")


def load_dataset(cfg: DatasetConfig, source: DataSource) -> Dataset:
    """Load and check the arrays of a resolved source, cut to n_train / n_test."""
    arrays = _read_arrays(source.path)
    for split in ("train", "test"):
        _check_split(source.path, split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    n_train, n_test = len(arrays["x_train"]), len(arrays["x_test"])
    if n_train < cfg.n_train or n_test < cfg.n_test:
        raise DataError(
            f"{source.path} has {n_train} training and {n_test} test images, fewer than "
            f"dataset.n_train = {cfg.n_train} / dataset.n_test = {cfg.n_test} ask for"
        )
    return Dataset(
        source,
        arrays["x_train"][: cfg.n_train],
        arrays["y_train"][: cfg.n_train].astype(np.int64),
        arrays["x_test"][: cfg.n_test],
        arrays["y_test"][: cfg.n_test].astype(np.int64),
    )
