"""Derive the operator lists of the public models in points.toml (writes graphs.json).

    python -m benchmarks.latency.graphs NAME=FILE [NAME=FILE ...]

FILE is a .tflite file, or a C source holding one as a byte array (how esp-tflite-micro ships
its person detection model). Only the derived facts are kept (operator, kind, dtype, work), not
the model. Sources of the files:

- person_detect: espressif/esp-tflite-micro, examples/person_detection/main/
  person_detect_model_data.cc at 3397cba775edcbb1e2a706d9595d536339ec0a0c (Apache-2.0).
- mobilenetv3_small_224_keras: keras.applications.MobileNetV3Small(input_shape=(224, 224, 3),
  alpha=1.0, weights=None) converted to full int8 with TFLiteConverter (3 random calibration
  images); the architecture of the measured model, not its file.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from tinyreport.analysis.latency import op_work
from tinyreport.analysis.tflite_reader import read_model

OUT = Path(__file__).with_name("graphs.json")


def tflite_bytes(path: Path) -> bytes:
    """The .tflite bytes of `path` (a .tflite file, or a C array of one)."""
    data = path.read_bytes()
    if path.suffix in (".cc", ".c", ".h"):
        text = data.decode("utf-8")
        body = text[text.index("[] = {") : text.index("};")]
        data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))
    return data


def graph(path: Path) -> dict:
    """The operator list of one model file."""
    data = tflite_bytes(path)
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "model.tflite"
        file.write_bytes(data)
        model = read_model(file)
    return {
        "file_bytes": len(data),
        "n_macs": model.n_macs,
        "ops": [asdict(op_work(model, op)) for op in model.operators],
    }


def main(argv: list[str]) -> None:
    graphs = json.loads(OUT.read_text()) if OUT.exists() else {}
    for arg in argv:
        name, _, file = arg.partition("=")
        graphs[name] = graph(Path(file))
    OUT.write_text(json.dumps(graphs, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
