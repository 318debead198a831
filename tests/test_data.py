"""Datasets: checksums, layout checks, preprocessing and input quantization."""

import numpy as np
import pytest

from tinyreport.config import DatasetConfig
from tinyreport.data import (
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
    with pytest.raises(DataError, match=r"x_train must be uint8 images of shape \(N, 28, 28\)"):
        load_dataset(cfg, resolve_source(cfg, tmp_path))


def test_not_an_npz_and_missing_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    cfg = DatasetConfig(source="npz", path="junk.npz")
    with pytest.raises(DataError, match="is not a readable .npz file"):
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
