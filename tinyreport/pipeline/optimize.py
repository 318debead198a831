"""Optimizations beyond conversion: magnitude pruning (Keras 3 native). Imports Keras."""

from __future__ import annotations

import gzip

import numpy as np

from tinyreport.config import TrainingConfig

# The layers whose kernels are pruned: the ones that hold nearly all the weights.
PRUNED_LAYERS = ("Dense", "Conv1D", "Conv2D")


def magnitude_masks(model, sparsity: float) -> list[tuple[object, np.ndarray]]:
    """Per prunable layer, its kernel and a mask that zeroes the `sparsity` share of it with
    the smallest magnitudes (ties broken by position, so the count is exact)."""
    masks = []
    for layer in model.layers:
        if type(layer).__name__ not in PRUNED_LAYERS:
            continue
        kernel = layer.kernel
        w = np.asarray(kernel.numpy()).ravel()
        n_zero = int(round(sparsity * w.size))
        mask = np.ones(w.size, dtype=w.dtype)
        mask[np.argsort(np.abs(w), kind="stable")[:n_zero]] = 0
        masks.append((kernel, mask.reshape(kernel.shape)))
    return masks


def prune(model, sparsity: float, training: TrainingConfig, epochs: int, x, y):
    """Return a pruned copy of `model`, fine-tuned `epochs` with its masks kept.

    One-shot magnitude pruning: per layer, the smallest weights are set to zero, then the
    model is fine-tuned while a callback sets them to zero again after every batch. Nothing
    wraps the layers, so there is nothing to strip: the copy converts like any Keras model.
    """
    import keras

    pruned = keras.models.clone_model(model)
    pruned.set_weights(model.get_weights())
    masks = magnitude_masks(pruned, sparsity)

    def apply(*_, **__):
        for kernel, mask in masks:
            kernel.assign(kernel.numpy() * mask)

    apply()
    pruned.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    pruned.fit(
        x,
        y,
        epochs=epochs,
        batch_size=training.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=apply)],
    )
    apply()  # the optimizer's last step is undone too
    return pruned


def kernel_sparsity(model) -> float:
    """Share of zeros among the weights of the pruned layers' kernels (measured)."""
    kernels = [
        np.asarray(layer.kernel.numpy())
        for layer in model.layers
        if type(layer).__name__ in PRUNED_LAYERS
    ]
    total = sum(k.size for k in kernels)
    return sum(int((k == 0).sum()) for k in kernels) / total if total else 0.0


def gzip_bytes(blob: bytes) -> int:
    """Size of `blob` gzipped at level 9 with a fixed header (no name, no time)."""
    return len(gzip.compress(blob, compresslevel=9, mtime=0))


def distill(
    student,
    teacher,
    training: TrainingConfig,
    epochs: int,
    x,
    y,
    alpha: float,
    temperature: float,
    on_epoch=None,
):
    """Train a freshly built `student` from `teacher`'s soft targets; return (student, loss).

    Hinton et al.'s loss: alpha x cross-entropy with the true labels + (1 - alpha) x T^2 x
    KL(teacher || student), both softened at temperature T. The built-in models end in a
    softmax, so logits are recovered as log-probabilities (softmax is shift-invariant).
    Written with keras.ops, so it runs under any Keras backend.
    """
    import keras
    from keras import ops

    n_classes = int(student.output_shape[-1])
    probs = np.asarray(teacher.predict(x, batch_size=256, verbose=0), dtype=np.float32)
    soft = np.exp(np.log(np.clip(probs, 1e-7, 1.0)) / temperature)
    soft /= soft.sum(axis=1, keepdims=True)
    targets = np.concatenate([np.eye(n_classes, dtype=np.float32)[y], soft], axis=1)

    def loss(y_true, y_pred):
        hard = keras.losses.categorical_crossentropy(y_true[:, :n_classes], y_pred)
        student_soft = ops.softmax(ops.log(ops.clip(y_pred, 1e-7, 1.0)) / temperature)
        kl = keras.losses.kl_divergence(y_true[:, n_classes:], student_soft)
        return alpha * hard + (1.0 - alpha) * temperature**2 * kl

    student.compile(optimizer=keras.optimizers.Adam(training.learning_rate), loss=loss)
    callbacks = []
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, epochs, logs["loss"])
            )
        )
    history = student.fit(
        x,
        targets,
        epochs=epochs,
        batch_size=training.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    # Saved and reloaded like any trained model: compile it with a plain loss, as train() does.
    student.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return student, float(history.history["loss"][-1])
