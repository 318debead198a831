"""Convert a Keras model to float TFLite and to full-int8 TFLite."""

from __future__ import annotations

import numpy as np


def representative_indices(n_train: int, n_samples: int, seed: int) -> np.ndarray:
    """Pick the calibration images from the training split, seeded and sorted."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_train, size=min(n_samples, n_train), replace=False))


def to_float(model) -> bytes:
    """Convert to a float32 TFLite flatbuffer."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def to_int8(model, calibration: np.ndarray) -> bytes:
    """Convert to full-int8 TFLite: int8 input/output, int8 builtins only."""
    import tensorflow as tf

    def samples():
        for image in calibration:
            yield [image[np.newaxis].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()
