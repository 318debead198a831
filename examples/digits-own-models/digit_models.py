"""A model builder for MNIST: tinyreport imports `build` and trains it with [training]."""

import keras
from keras import layers


def build(input_shape, num_classes):
    """A depthwise-separable CNN, the kind MobileNets are made of, at MNIST size."""
    inputs = keras.Input(input_shape)
    x = layers.Reshape((*input_shape, 1))(inputs)
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = layers.DepthwiseConv2D(3, activation="relu")(x)
    x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="separable")
