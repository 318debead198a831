"""Model builders for the activity windows: tinyreport imports `build` and trains it."""

import keras
from keras import layers


def build(input_shape, num_classes):
    """A small 1-D CNN: two convolutions, global pooling, a softmax over the activities."""
    inputs = keras.Input(input_shape)
    x = layers.Conv1D(8, 5, activation="relu")(inputs)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(16, 3, activation="relu")(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="activity_cnn")
