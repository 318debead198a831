"""Datasets: checksums, every bad user file one DataError, preprocessing, quantization."""

import io
import random
import subprocess
import sys

import numpy as np
import pytest

from tinyreport.config import DatasetConfig
from tinyreport.dataset import (
    BUNDLED_MNIST,
    MNIST_SHA256,
    file_sha256,
    load_dataset,
    preprocess,
    quantize,
    resolve_source,
)
from tinyreport.errors import DataError


def test_bundled_copy_is_the_real_mnist():
    source = resolve_source(DatasetConfig(), BUNDLED_MNIST.parent)
    assert source.sha256 == MNIST_SHA256
    data = load_dataset(DatasetConfig(n_train=1000, n_test=200), source)
    assert data.x_train.shape == (1000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (200, 28, 28)
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # MNIST's famous first labels
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def _write_npz(path, n=200, **override):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n),
        "x_test": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n),
    }
    arrays.update(override)
    np.savez(path, **arrays)


def test_user_npz_with_matching_and_wrong_checksum(tmp_path):
    path = tmp_path / "mine.npz"
    _write_npz(path)
    good = DatasetConfig(source="npz", path="mine.npz", n_train=100, n_test=100)
    source = resolve_source(good, tmp_path)
    assert source.sha256 == file_sha256(path)
    assert load_dataset(good, source).x_train.shape == (100, 28, 28)

    wrong = DatasetConfig(source="npz", path="mine.npz", sha256="0" * 64)
    with pytest.raises(DataError, match="has sha256 .* expected 000000000000"):
        resolve_source(wrong, tmp_path)


def test_user_npz_with_wrong_layout(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, x_train=np.zeros((200, 32, 32), dtype=np.uint8))
    cfg = DatasetConfig(source="npz", path="bad.npz", n_train=100, n_test=100)
    with pytest.raises(
        DataError, match=r"x_train and x_test must hold samples of one shape, got \(32, 32\) and"
    ):
        load_dataset(cfg, resolve_source(cfg, tmp_path))


def test_not_an_npz_and_missing_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    cfg = DatasetConfig(source="npz", path="junk.npz")
    with pytest.raises(DataError, match=r"is not an \.npz archive"):
        load_dataset(cfg, resolve_source(cfg, tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        resolve_source(DatasetConfig(source="npz", path="nope.npz"), tmp_path)


def test_keras_cache_is_used_and_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"truncated download")
    with pytest.raises(DataError, match="corrupt or not the expected MNIST copy"):
        resolve_source(DatasetConfig(source="keras"), tmp_path)


def test_preprocess_and_quantize_match_the_int8_input_encoding():
    images = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    x = preprocess(images)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [[0, 1 / 255, 128 / 255, 1]], rtol=1e-6)
    # The int8 MNIST models use scale 1/255 and zero point -128: pixel p -> p - 128.
    q = quantize(x, 1 / 255, -128)
    assert q.dtype == np.int8
    assert q.tolist() == [[-128, -127, 0, 127]]


def _npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def _npz_bytes(**override) -> bytes:
    buf = io.BytesIO()
    _write_npz(buf, **override)
    return buf.getvalue()


BAD_FILES = {
    "empty": (b"", "{path} is empty; expected an .npz archive made by numpy.savez"),
    "random bytes": (
        bytes(range(7, 255)),
        "{path} is not an .npz archive (a zip file made by numpy.savez)",
    ),
    "npy renamed": (
        _npy_bytes(np.zeros((200, 28, 28), np.uint8)),
        "{path} is a single .npy array, not an .npz archive; "
        "save x_train, y_train, x_test, y_test together with numpy.savez",
    ),
    "truncated": (
        _npz_bytes()[:3000],
        "{path} is a damaged or truncated .npz archive (BadZipFile: File is not a zip file)",
    ),
    "object array": (
        _npz_bytes(y_test=np.array([1, "a", None] * 67, dtype=object)[:200]),
        "{path} holds an array of Python objects, which tinyreport does not load; "
        "save numeric arrays (uint8 images, integer labels)",
    ),
    "zero rows": (
        _npz_bytes(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
        "{path}: x_train holds no samples; it needs at least one",
    ),
    "float labels": (
        _npz_bytes(y_train=np.arange(200) % 10 + 0.5),
        "{path}: y_train must hold integer class labels, got floating-point numbers (float64); "
        "convert them with .astype(np.int64)",
    ),
    "string labels": (
        _npz_bytes(y_test=np.array([str(i % 10) for i in range(200)])),
        "{path}: y_test must hold integer class labels, got text (<U1); "
        "convert them with .astype(np.int64)",
    ),
    "boolean labels": (
        _npz_bytes(y_test=np.ones(200, bool)),
        "{path}: y_test must hold integer class labels, got booleans (bool); "
        "convert them with .astype(np.int64)",
    ),
    "labels out of range": (
        _npz_bytes(y_train=np.arange(200) % 12 - 1),
        "{path}: y_train must hold labels from 0 up, got -1",
    ),
    "one label per row": (
        _npz_bytes(y_train=np.zeros((200, 1), np.uint8)),
        "{path}: y_train must hold one label per sample, shape (200,), got (200, 1)",
    ),
    "flat images": (
        _npz_bytes(x_test=np.zeros((200, 784), np.uint8)),
        "{path}: x_train and x_test must hold samples of one shape, got (28, 28) and (784,)",
    ),
    "too few images": (
        _npz_bytes(x_test=np.zeros((50, 28, 28), np.uint8), y_test=np.zeros(50, np.uint8)),
        "{path} has 200 training and 50 test samples, "
        "fewer than dataset.n_train = 100 / dataset.n_test = 100 ask for",
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_user_npz_is_one_clear_data_error(tmp_path, name):
    raw, message = BAD_FILES[name]
    path = tmp_path / "mine.npz"
    path.write_bytes(raw)
    cfg = DatasetConfig(source="npz", path="mine.npz", n_train=100, n_test=100)
    with pytest.raises(DataError) as err:
        load_dataset(cfg, resolve_source(cfg, tmp_path))
    assert str(err.value) == message.format(path=path)


@pytest.mark.parametrize("name", ["empty", "npy renamed", "float labels", "string labels"])
def test_bad_user_npz_through_the_cli(tmp_path, name):
    raw, message = BAD_FILES[name]
    path = tmp_path / "mine.npz"
    path.write_bytes(raw)
    cfg = tmp_path / "tinyreport.toml"
    cfg.write_text(
        '[dataset]\nsource = "npz"\npath = "mine.npz"\nn_train = 100\nn_test = 100\n'
        '[models.mlp]\nkind = "mlp"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "collect", "--config", str(cfg), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (
        1,
        f"tinyreport: error: {message.format(path=path)}\n",
    )
    assert proc.stdout == ""


def test_no_damaged_npz_escapes_as_anything_but_a_data_error(tmp_path):
    good = _npz_bytes()
    path = tmp_path / "mine.npz"
    cfg = DatasetConfig(source="npz", path="mine.npz", n_train=100, n_test=100)
    rng = random.Random(0)
    damaged = [good[:n] for n in range(0, len(good), 997)]
    for _ in range(300):
        raw = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        damaged.append(bytes(raw))
    for raw in damaged:
        path.write_bytes(raw)
        try:
            load_dataset(cfg, resolve_source(cfg, tmp_path))
        except DataError as exc:
            assert str(exc).startswith(str(path))


def test_ctrl_c_while_loading_is_not_turned_into_a_data_error(tmp_path, monkeypatch):
    (tmp_path / "mine.npz").write_bytes(_npz_bytes())
    cfg = DatasetConfig(source="npz", path="mine.npz", n_train=100, n_test=100)
    source = resolve_source(cfg, tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(cfg, source)
