"""Train a small Keras model on MNIST the way a notebook would, save it, convert it to int8.

Writes models/notebook_cnn.keras (a trained model tinyreport loads as is) and
models/notebook_cnn_int8.tflite (a file converted outside tinyreport, reported as it is).
Seeded; takes under a minute on two cores.
"""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from tinyreport.dataset import BUNDLED_MNIST

OUT = Path(__file__).parent / "models"


def main() -> None:
    keras.utils.set_random_seed(1)
    with np.load(BUNDLED_MNIST) as mnist:
        x = mnist["x_train"][:10000].astype(np.float32) / 255.0
        y = mnist["y_train"][:10000]
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(4, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    OUT.mkdir(exist_ok=True)
    model.save(OUT / "notebook_cnn.keras")

    fixed = keras.Sequential([keras.Input((28, 28), batch_size=1), *model.layers])
    converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[i : i + 1]] for i in range(200))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    (OUT / "notebook_cnn_int8.tflite").write_bytes(converter.convert())
    print(f"wrote {OUT}/notebook_cnn.keras and notebook_cnn_int8.tflite")


if __name__ == "__main__":
    main()
