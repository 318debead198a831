"""MNIST from the bundled copy, the Keras cache or a user file, verified; one preprocessing."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyreport.config import DatasetConfig
from tinyreport.errors import DataError

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
BUNDLED_MNIST = Path(__file__).parent / "data" / "mnist.npz"
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


def load_dataset(cfg: DatasetConfig, source: DataSource) -> Dataset:
    """Load and check the arrays of a resolved source, cut to n_train / n_test."""
    try:
        with np.load(source.path, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{source.path} lacks the arrays {', '.join(missing)}")
            arrays = {k: npz[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source.path} is not a readable .npz file: {exc}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{source.path}: x_{split} must be uint8 images of shape (N, 28, 28), "
                f"got {x.dtype} {x.shape}"
            )
        if y.shape != (x.shape[0],) or y.min() < 0 or y.max() >= N_CLASSES:
            raise DataError(f"{source.path}: y_{split} must hold one label 0-9 per image")
    if arrays["x_train"].shape[0] < cfg.n_train or arrays["x_test"].shape[0] < cfg.n_test:
        raise DataError(
            f"{source.path} has fewer images than dataset.n_train / dataset.n_test ask for"
        )
    return Dataset(
        source,
        arrays["x_train"][: cfg.n_train],
        arrays["y_train"][: cfg.n_train].astype(np.int64),
        arrays["x_test"][: cfg.n_test],
        arrays["y_test"][: cfg.n_test].astype(np.int64),
    )
