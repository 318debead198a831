"""Build and train the Keras models, seeded. Imports TensorFlow/Keras; only collect calls it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyreport.config import CnnConfig, MlpConfig, TrainingConfig
from tinyreport.pipeline.data import IMAGE_SHAPE, N_CLASSES

EpochCallback = Callable[[int, int, float], None]  # (epoch done, epochs, loss)


def seed_everything(seed: int) -> None:
    """Make weights, shuffling and kernels reproducible."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(name: str, spec: MlpConfig | CnnConfig):
    """Return the uncompiled Keras model for a model section of the config."""
    import keras
    from keras import layers

    stack: list = [keras.Input(IMAGE_SHAPE, name="image")]
    if spec.kind == "mlp":
        stack.append(layers.Flatten())
        stack += [layers.Dense(n, activation="relu") for n in spec.hidden]
    else:
        stack.append(layers.Reshape((*IMAGE_SHAPE, 1)))
        for n in spec.filters:
            stack += [layers.Conv2D(n, 3, activation="relu"), layers.MaxPooling2D(2)]
        stack += [layers.Flatten(), layers.Dense(spec.dense, activation="relu")]
    stack.append(layers.Dense(N_CLASSES, activation="softmax"))
    return keras.Sequential(stack, name=name)


def describe(model) -> list[str]:
    """One line per layer: class, output shape and parameter count."""
    lines = []
    for layer in model.layers:
        shape = "x".join(str(d) for d in layer.output.shape[1:])
        lines.append(f"{type(layer).__name__} -> {shape} ({layer.count_params():,} params)")
    return lines


def train(
    name: str,
    spec: MlpConfig | CnnConfig,
    training: TrainingConfig,
    epochs: int,
    x: np.ndarray,
    y: np.ndarray,
    on_epoch: EpochCallback | None = None,
):
    """Build, compile and fit a model on preprocessed data; return (model, final loss)."""
    import keras

    seed_everything(training.seed)
    model = build_model(name, spec)
    model.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks = []
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, epochs, logs["loss"])
            )
        )
    history = model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=training.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    return model, float(history.history["loss"][-1])
