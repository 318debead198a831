"""Pin what makes conversion, evaluation and arena measurement differ between machines.

Called before TensorFlow is imported. TensorFlow picks oneDNN kernels (dispatched at run time by
CPU features) unless TF_ENABLE_ONEDNN_OPTS=0, and splits work over as many threads as the
machine has cores; both change float rounding, so the Keras accuracy and the int8 calibration
ranges could differ in the last bit from one machine to the next. collect therefore runs with
oneDNN off, one intra-op and one inter-op thread, and op determinism on, whatever the user's
environment says; the LiteRT interpreter runs TFLite's reference kernels on one thread
(evaluate.py), and the calibration images are a seeded, sorted sample (convert.py).
tests/test_reproducible.py runs collect under other settings and compares bytes and numbers.
"""

from __future__ import annotations

import os
import sys

ENVIRONMENT = {
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_DETERMINISTIC_OPS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}


def configure() -> None:
    """Set the environment, then pin TensorFlow's threads and ops (imports TensorFlow)."""
    if "tensorflow" not in sys.modules:
        os.environ.update(ENVIRONMENT)
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # the runtime already started in this process (tests): the environment decided
    tf.config.experimental.enable_op_determinism()
