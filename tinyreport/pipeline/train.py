"""Build and train the Keras models, seeded. Imports TensorFlow/Keras; only collect calls it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinyreport.config import CnnConfig, KerasConfig, MlpConfig, TrainingConfig
from tinyreport.errors import ConfigError

EpochCallback = Callable[[int, int, float], None]  # (epoch done, epochs, loss)


def seed_everything(seed: int) -> None:
    """Make weights, shuffling and kernels reproducible, and the model's layer names: Keras
    numbers them (dense, dense_1, ...) across the process and the names end up in the stored
    .keras and the .tflite files, so every model starts from a cleared Keras session."""
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def conv_rank(spec: CnnConfig, input_shape: tuple[int, ...]) -> int:
    """Return 1 or 2: the convolutions a CNN section gets for this input shape.

    `conv = "auto"`: L and LxC (fewer than 6 columns) windows get 1-D convolutions, HxW and
    HxWxC images 2-D ones.
    """
    if spec.conv != "auto":
        return int(spec.conv[0])
    if len(input_shape) == 1 or len(input_shape) == 2 and min(input_shape) < 6:
        return 1
    return 2


def build_model(name: str, spec: MlpConfig | CnnConfig, input_shape, n_classes: int):
    """Return the uncompiled Keras model for a built-in model section of the config."""
    import keras
    from keras import layers

    input_shape = tuple(int(d) for d in input_shape)
    stack: list = [keras.Input(input_shape, name="image")]
    if spec.kind == "mlp":
        stack.append(layers.Flatten())
        stack += [layers.Dense(n, activation="relu") for n in spec.hidden]
    else:
        rank = conv_rank(spec, input_shape)
        if len(input_shape) not in (rank, rank + 1):
            raise ConfigError(
                f"model {name}: {rank}-D convolutions need inputs of {rank} or {rank + 1} "
                f"axes, the data has shape {input_shape}"
            )
        if len(input_shape) == rank:  # add the channel axis
            stack.append(layers.Reshape((*input_shape, 1)))
        size = min(input_shape[:rank])
        for _ in spec.filters:
            size = (size - 2) // 2
        if size < 1:
            raise ConfigError(
                f"model {name}: an input of shape {input_shape} is too small for "
                f"{len(spec.filters)} convolution (3) and pooling (2) stages; use fewer filters"
            )
        conv, pool = (
            (layers.Conv1D, layers.MaxPooling1D)
            if rank == 1
            else (
                layers.Conv2D,
                layers.MaxPooling2D,
            )
        )
        for n in spec.filters:
            stack += [conv(n, 3, activation="relu"), pool(2)]
        stack += [layers.Flatten(), layers.Dense(spec.dense, activation="relu")]
    stack.append(layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(stack, name=name)


def build_from_builder(name: str, spec: KerasConfig, root: Path, input_shape, n_classes: int):
    """Import `module:function` from the project folder and call it; check what it returns."""
    import importlib

    import keras

    module_name, func_name = spec.builder.split(":")
    where = f"model {name}: builder {spec.builder}"
    sys.path.insert(0, str(root))
    try:
        sys.modules.pop(module_name, None)  # the project's own module, not a stale one
        module = importlib.import_module(module_name)
        func = getattr(module, func_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where} cannot be imported from {root}: {exc}") from None
    except Exception as exc:
        raise ConfigError(
            f"{where}: importing {module_name} raised {type(exc).__name__}: {exc}"
        ) from None
    finally:
        sys.path.remove(str(root))
    try:
        model = func(input_shape=tuple(input_shape), num_classes=n_classes)
    except Exception as exc:  # the user's code: any error is theirs to read
        raise ConfigError(f"{where} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{where} returned {type(model).__name__}, not a keras.Model")
    got_in = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if got_in != tuple(input_shape):
        raise ConfigError(
            f"{where} returned a model for inputs of shape {got_in}, the data has "
            f"{tuple(input_shape)}"
        )
    if model.output_shape[1:] != (n_classes,):
        raise ConfigError(
            f"{where} returned a model with outputs {tuple(model.output_shape[1:])}, the data "
            f"has {n_classes} classes"
        )
    return model


def source_file(spec: KerasConfig, root: Path) -> Path | None:
    """The file a builder's module is read from (for the cache key), if it is in the project."""
    module = spec.builder.split(":")[0].replace(".", "/")
    for candidate in (root / f"{module}.py", root / module / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def describe(model) -> list[str]:
    """One line per layer: class, output shape and parameter count."""
    lines = []
    for layer in model.layers:
        shape = "x".join(str(d) for d in layer.output.shape[1:])
        lines.append(f"{type(layer).__name__} -> {shape} ({layer.count_params():,} params)")
    return lines


def train(
    model,
    training: TrainingConfig,
    epochs: int,
    x: np.ndarray,
    y: np.ndarray,
    on_epoch: EpochCallback | None = None,
):
    """Compile and fit a freshly built model on preprocessed data; return (model, final loss).

    Call `seed_everything` before building the model, so its initial weights are seeded too.
    """
    import keras

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
