"""Build the small .tflite graphs the arena tests run on (needs TensorFlow).

Weights are seeded random, never trained: the arena depends on shapes, dtypes and
quantization layout, not on weight values. Each graph is converted to float32 and to
full int8 (int8 input and output), as tinyreport's own converter does, but with the Keras
model's dynamic batch kept (tinyreport converts a batch-1 copy): a graph with a Flatten keeps
the SHAPE / STRIDED_SLICE / PACK operators it adds, which the planner must also get right.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

SEED = 1234
N_CALIBRATION = 4


def _mnist_mlp():
    import keras
    from keras import layers

    # Mirrors tinyreport.pipeline.train.build_model for the default MLP section.
    return keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_mlp",
    )


def _mnist_cnn():
    import keras
    from keras import layers

    # Mirrors tinyreport.pipeline.train.build_model for the default CNN section.
    return keras.Sequential(
        [
            keras.Input((28, 28), name="image"),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_cnn",
    )


def _branches():
    """Two parallel convolutions of odd widths, concatenated, then pooled and classified."""
    import keras
    from keras import layers

    x = keras.Input((13, 11, 3))
    a = layers.Conv2D(5, 3, padding="same", activation="relu")(x)
    b = layers.Conv2D(7, 1, activation="relu")(x)
    c = layers.Conv2D(3, 5, padding="same")(x)
    y = layers.Concatenate()([a, b, c])
    y = layers.MaxPooling2D(2)(y)
    y = layers.Flatten()(y)
    y = layers.Dense(6, activation="softmax")(y)
    return keras.Model(x, y, name="branches")


def _residual():
    """Two residual blocks: a long-lived skip tensor the planner must keep alive."""
    import keras
    from keras import layers

    x = keras.Input((15, 15, 4))
    h = layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    r = layers.Conv2D(6, 3, padding="same", activation="relu")(h)
    r = layers.Conv2D(6, 3, padding="same")(r)
    h = layers.Add()([h, r])
    r = layers.Conv2D(6, 1)(h)
    h = layers.Add()([h, r])
    h = layers.AveragePooling2D(3)(h)
    h = layers.Flatten()(h)
    y = layers.Dense(3)(h)
    return keras.Model(x, y, name="residual")


def _depthwise():
    """Depthwise-separable blocks with a strided depthwise and a depth multiplier."""
    import keras
    from keras import layers

    x = keras.Input((17, 17, 3))
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    h = layers.DepthwiseConv2D(3, padding="same", activation="relu")(h)
    h = layers.Conv2D(12, 1, activation="relu")(h)
    h = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="valid")(h)
    h = layers.GlobalAveragePooling2D()(h)
    y = layers.Dense(5, activation="softmax")(h)
    return keras.Model(x, y, name="depthwise")


def _conv1d():
    """A 1-D signal model: Conv1D, max pooling, global average pooling."""
    import keras
    from keras import layers

    x = keras.Input((49, 3))
    h = layers.Conv1D(6, 5, activation="relu")(x)
    h = layers.MaxPooling1D(3)(h)
    h = layers.Conv1D(9, 3, padding="same", activation="relu")(h)
    h = layers.GlobalAveragePooling1D()(h)
    y = layers.Dense(4, activation="softmax")(h)
    return keras.Model(x, y, name="conv1d")


def _pooling_odd():
    """Odd spatial sizes and widths through max and average pooling and a dense head."""
    import keras
    from keras import layers

    x = keras.Input((21, 19, 1))
    h = layers.Conv2D(3, 3, activation="relu")(x)
    h = layers.MaxPooling2D(3, strides=2)(h)
    h = layers.AveragePooling2D(2, padding="same")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(33, activation="relu")(h)
    y = layers.Dense(7)(h)
    return keras.Model(x, y, name="pooling_odd")


def _elementwise():
    """Padding, sigmoid and tanh branches multiplied and subtracted, global max pooling."""
    import keras
    from keras import layers

    x = keras.Input((10, 9, 3))
    h = layers.ZeroPadding2D(1)(x)
    h = layers.Conv2D(4, 3)(h)
    a = layers.Activation("sigmoid")(h)
    b = layers.Activation("tanh")(h)
    m = layers.Multiply()([a, b])
    d = layers.Subtract()([m, h])
    g = layers.GlobalMaxPooling2D()(d)
    y = layers.Dense(3)(g)
    return keras.Model(x, y, name="elementwise")


BUILDERS: dict[str, Callable] = {
    "mnist_mlp": _mnist_mlp,
    "mnist_cnn": _mnist_cnn,
    "branches": _branches,
    "residual": _residual,
    "depthwise": _depthwise,
    "conv1d": _conv1d,
    "pooling_odd": _pooling_odd,
    "elementwise": _elementwise,
}


def _seed_weights(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in weights])


def convert(model, int8: bool) -> bytes:
    """Convert a Keras model to float32 or full-int8 TFLite bytes."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(SEED)
        shape = (1, *model.input_shape[1:])

        def samples():
            for _ in range(N_CALIBRATION):
                yield [rng.uniform(-1, 1, shape).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def convert_float_io(model) -> bytes:
    """int8 weights and activations but float input and output (QUANTIZE/DEQUANTIZE ops)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    rng = np.random.default_rng(SEED)
    shape = (1, *model.input_shape[1:])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(N_CALIBRATION)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def build_all(out_dir: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Write `<name>_float.tflite` and `<name>_int8.tflite` for each graph, plus
    `mnist_mlp_floatio.tflite`; return the paths."""
    import keras

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for index, name in enumerate(names or BUILDERS):
        keras.utils.set_random_seed(SEED + index)
        model = BUILDERS[name]()
        _seed_weights(model, SEED + index)
        for kind in ("float", "int8"):
            path = out_dir / f"{name}_{kind}.tflite"
            path.write_bytes(convert(model, int8=kind == "int8"))
            paths[f"{name}_{kind}"] = path
        if name == "mnist_mlp":
            path = out_dir / f"{name}_floatio.tflite"
            path.write_bytes(convert_float_io(model))
            paths[f"{name}_floatio"] = path
    return paths


@cache
def built() -> dict[str, Path]:
    """Build every graph once per test session into a temporary directory (removed at exit).

    A cached function rather than a pytest fixture: several test modules import it, and a
    session fixture imported into each module would be built once per module.
    """
    out = Path(tempfile.mkdtemp(prefix="tinyreport-graphs-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    return build_all(out)


@cache
def host_truth(key: str):
    """TFLM's own arena numbers for one built graph (tinyreport.pipeline.tflm_host, cached)."""
    from tinyreport.pipeline.tflm_host import measure_host_arena

    return measure_host_arena(built()[key])


def with_model(path: Path, out: Path, edit: Callable) -> Path:
    """Copy a .tflite through the schema's object API, applying `edit(model_t)`."""
    import flatbuffers

    from tinyreport.analysis.tflite_reader import schema

    s = schema()
    model_t = s.ModelT.InitFromObj(s.Model.GetRootAs(path.read_bytes(), 0))
    edit(model_t)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model_t.Pack(builder), file_identifier=b"TFL3")
    out.write_bytes(bytes(builder.Output()))
    return out


if __name__ == "__main__":
    import sys

    for key, path in build_all(Path(sys.argv[1])).items():
        print(key, path, path.stat().st_size)
