"""Convert a Keras model to float TFLite and to full-int8 TFLite."""

from __future__ import annotations

import numpy as np


def representative_indices(n_train: int, n_samples: int, seed: int) -> np.ndarray:
    """Pick the calibration images from the training split, seeded and sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=min(n_samples, n_train), replace=False))


def with_batch_one(model):
    """Return a copy of a Sequential or functional model whose input has batch size 1.

    A fixed batch gives TFLM a constant RESHAPE for Flatten; with a dynamic batch, Keras 3
    exports SHAPE, STRIDED_SLICE and PACK operators that a microcontroller has no use for.
    """
    import keras

    if isinstance(model, keras.Sequential):
        layers = [keras.Input(model.input_shape[1:], batch_size=1, name="image")]
        layers += [type(layer).from_config(layer.get_config()) for layer in model.layers]
        fixed = keras.Sequential(layers, name=model.name)
    else:
        config = model.get_config()
        for layer in config.get("layers", []):
            if layer.get("class_name") == "InputLayer":
                shape = layer["config"]["batch_shape"]
                layer["config"]["batch_shape"] = [1, *shape[1:]]
        fixed = type(model).from_config(config)
    fixed.set_weights(model.get_weights())
    return fixed


def to_float(model) -> bytes:
    """Convert to a float32 TFLite flatbuffer with batch size 1."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model)).convert()


def to_int8(model, calibration: np.ndarray) -> bytes:
    """Convert to full-int8 TFLite with batch size 1: int8 input/output, int8 builtins only."""
    import tensorflow as tf

    def samples():
        for image in calibration:
            yield [image[np.newaxis].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def to_float16(model) -> bytes:
    """Float16 weights, float32 activations and input (the converter's float16 mode)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def to_dynamic_int8(model) -> bytes:
    """Dynamic-range quantization: int8 weights, float activations, no calibration set."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def to_int16x8(model, calibration: np.ndarray) -> bytes:
    """int16 activations and int8 weights (the converter's 16x8 mode), int16 input/output."""
    import tensorflow as tf

    def samples():
        for image in calibration:
            yield [image[np.newaxis].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(with_batch_one(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return converter.convert()
