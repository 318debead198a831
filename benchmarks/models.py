"""Build the .tflite models the analyze benchmark reads (needs TensorFlow), cached on disk.

Two sweeps, both full-int8 like tinyreport's own conversion:
- size: four Dense layers whose width is chosen for a file size from 10 KB to 5 MB;
- operators: residual blocks (Conv2D then Add) repeated, for 10 to 500 operators.
Weights are seeded random: cost depends on shapes and counts, not values.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

from benchmarks.timing import ROOT
from tinyreport.fsutil import native_output_to

CACHE = ROOT / "benchmarks" / ".cache" / "models"
FULL_SIZES_KB = (10, 100, 300, 1000, 2000, 5000)
QUICK_SIZES_KB = (10, 100)
FULL_BLOCKS = (4, 16, 64, 256)
QUICK_BLOCKS = (2, 8)
INPUT_WIDTH = 64


def dense_width(target_bytes: int) -> int:
    """Width w of the size sweep's MLP so that its int8 weights take about `target_bytes`."""
    # params = 64 w + w^2 + w^2 + 10 w (+ biases, 4 bytes each): solve 2 w^2 + 86 w = target.
    return max(4, round((-86 + math.sqrt(86**2 + 8 * target_bytes)) / 4))


def _dense_model(width: int):
    import keras
    from keras import layers

    x = keras.Input((INPUT_WIDTH,))
    h = layers.Dense(width, activation="relu")(x)
    h = layers.Dense(width, activation="relu")(h)
    h = layers.Dense(width, activation="relu")(h)
    y = layers.Dense(10, activation="softmax")(h)
    return keras.Model(x, y, name=f"dense_{width}")


def _residual_model(n_blocks: int):
    import keras
    from keras import layers

    x = keras.Input((8, 8, 8))
    h = x
    for _ in range(n_blocks):
        h = layers.Add()([h, layers.Conv2D(8, 3, padding="same", activation="relu")(h)])
    h = layers.GlobalAveragePooling2D()(h)
    y = layers.Dense(10, activation="softmax")(h)
    return keras.Model(x, y, name=f"residual_{n_blocks}")


def _build(spec: dict) -> bytes:
    import keras

    sys.path.insert(0, str(ROOT / "tests"))
    from graphs import _seed_weights, convert  # the test graphs' int8 conversion

    keras.utils.set_random_seed(1234)
    if spec["kind"] == "dense":
        model = _dense_model(spec["width"])
    else:
        model = _residual_model(spec["blocks"])
    _seed_weights(model, 1234)
    return convert(model, int8=True)


def _path(spec: dict) -> Path:
    from importlib.metadata import version

    key = json.dumps({**spec, "tensorflow": version("tensorflow"), "v": 1}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return CACHE / f"{spec['name']}-{digest}.tflite"


def specs(quick: bool) -> list[dict]:
    """The models of both sweeps, in order."""
    out = []
    for kb in QUICK_SIZES_KB if quick else FULL_SIZES_KB:
        out.append(
            {
                "name": f"dense_{kb}kb",
                "sweep": "size",
                "kind": "dense",
                "width": dense_width(kb * 1000),
            }
        )
    for n in QUICK_BLOCKS if quick else FULL_BLOCKS:
        out.append({"name": f"residual_{n}", "sweep": "operators", "kind": "residual", "blocks": n})
    return out


def build(quick: bool, log=print) -> list[tuple[dict, Path]]:
    """Return (spec, path) for every sweep model, building the ones not cached."""
    out = []
    for spec in specs(quick):
        path = _path(spec)
        if not path.is_file():
            log(f"analyze: building {spec['name']}")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with native_output_to(path.with_suffix(".log")):  # TensorFlow's chatter
                tmp.write_bytes(_build(spec))
            tmp.replace(path)
        out.append((spec, path))
    return out
