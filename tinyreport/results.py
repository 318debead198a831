"""The results file: plain dataclasses passed between stages, serialised to versioned JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# Format history (bump on any incompatible change, and say what changed):
# 1: first format: models with keras / tflite_float / tflite_int8 variants, host TFLM arena,
#    per-variant evaluation, optional `analysis` per TFLite variant, optional `device` runs.
# 2: `run` (the run that produced the figures: commit, date, machine, versions, and per model
#    whether each figure family was reused or computed), `models[].config` (the model's config
#    section), and the Keras variant's sha256 (the stored model's bytes).
FORMAT_VERSION = 2

VARIANTS = (  # in display order
    "keras",
    "tflite_float",
    "tflite_float16",
    "tflite_dynamic_int8",
    "tflite_int8",
    "tflite_pruned_int8",
    "tflite_qat_int8",
    "tflite_int16x8",
    "espdl_int8",
)
VARIANT_TITLES = {
    "keras": "Keras",
    "tflite_float": "float TFLite",
    "tflite_float16": "float16 TFLite",
    "tflite_dynamic_int8": "dynamic-range int8 TFLite",
    "tflite_int8": "int8 TFLite",
    "tflite_pruned_int8": "pruned int8 TFLite",
    "tflite_qat_int8": "QAT int8 TFLite",
    "tflite_int16x8": "int16x8 TFLite",
    "espdl_int8": "ESP-DL int8",
}

# Where a figure came from; pages show it next to the figure.
MEASURED_DEVICE = "measured-device"
MEASURED_HOST_TFLM = "measured-host-tflm"
MEASURED_HOST = "measured-host"
SIMULATED_HOST = "simulated-host"  # a host simulation of a device runtime (ESP-PPQ's executor)
COMPUTED = "computed"
ESTIMATED = "estimated"


def _build(cls, data: dict[str, Any]):
    """Construct a dataclass from a dict, ignoring nothing and inventing nothing."""
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    return cls(**data)


@dataclass(frozen=True)
class Evaluation:
    """Accuracy of one variant on the test set (computed on the host)."""

    n_samples: int
    accuracy: float
    per_class_accuracy: list[float]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    runtime: str  # what ran the inference, e.g. "keras 3.15.1" or "ai-edge-litert 2.3.0"

    @property
    def pc_accuracy(self) -> float:
        return 100.0 * self.accuracy


@dataclass(frozen=True)
class HostArena:
    """Tensor arena reported by TFLM on the host (RecordingMicroAllocator)."""

    host_bytes: int
    head_bytes: int
    tail_bytes: int
    machine: str
    tflm_version: str
    provenance: str = MEASURED_HOST_TFLM


@dataclass(frozen=True)
class TensorQuant:
    """Quantization of a graph input or output."""

    dtype: str
    shape: list[int]
    scale: float | None
    zero_point: int | None


@dataclass(frozen=True)
class Variant:
    """One form of a model: the Keras file, the float TFLite or the int8 TFLite."""

    kind: str  # one of VARIANTS
    path: str  # artifact path relative to the results file's project root
    size_bytes: int
    sha256: str | None  # TFLite only: the model id that device logs refer to
    evaluation: Evaluation | None  # None when the model's input or output does not fit the data
    not_evaluated: str | None = None  # why there is no evaluation
    arena: HostArena | None = None
    input: TensorQuant | None = None
    output: TensorQuant | None = None
    tensor_dtypes: list[str] = field(default_factory=list)  # on the inference path
    analysis: dict[str, Any] | None = None  # tinyreport.analysis.analyze document
    details: dict[str, Any] | None = None  # what only this kind of variant has (ESP-DL: errors)
    no_arena: str | None = None  # why TFLM cannot run this variant (then no arena, no analysis)

    @property
    def accuracy(self) -> float | None:
        return None if self.evaluation is None else self.evaluation.accuracy

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accuracy"] = self.accuracy  # duplicated at top level for readers of the file
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        data = dict(data)
        data.pop("accuracy", None)
        if data.get("evaluation") is not None:
            data["evaluation"] = _build(Evaluation, data["evaluation"])
        for key, typ in (("arena", HostArena), ("input", TensorQuant), ("output", TensorQuant)):
            if data.get(key) is not None:
                data[key] = _build(typ, data[key])
        return _build(cls, data)


@dataclass(frozen=True)
class Training:
    """How a model was trained."""

    epochs: int
    batch_size: int
    seed: int
    learning_rate: float
    n_train: int
    representative_samples: int
    final_loss: float
    tensorflow_version: str


@dataclass(frozen=True)
class ModelResult:
    """Everything measured about one model."""

    name: str
    kind: str  # mlp | cnn (built in), keras (a file or a builder), tflite (a file)
    architecture: list[str]
    params: int
    training: Training | None  # None for models tinyreport did not train
    variants: dict[str, Variant]
    agreement_int8_float: float | None  # share of test samples where int8 and float agree
    cache_key: str
    device: list[dict[str, Any]] = field(default_factory=list)  # ingested device runs
    source: dict[str, Any] = field(default_factory=dict)  # where the model came from
    skipped: dict[str, str] = field(default_factory=dict)  # variant -> why it was not built
    # A model trained from a teacher: {teacher, alpha, temperature, alone_accuracy}
    distillation: dict[str, Any] | None = None
    config: dict[str, Any] | None = None  # the [models.NAME] section it was collected with

    @property
    def kinds(self) -> list[str]:
        """The variants this model has, in display order."""
        return [k for k in VARIANTS if k in self.variants]

    @property
    def tflite_kinds(self) -> list[str]:
        """The TFLite variants this model has that TFLM can run, in display order."""
        return [
            k for k in self.kinds if k.startswith("tflite_") and self.variants[k].no_arena is None
        ]

    @property
    def deploy_kind(self) -> str:
        """The variant meant for the board: full-int8 when there is one, else the first TFLite."""
        return "tflite_int8" if "tflite_int8" in self.variants else self.tflite_kinds[0]

    @property
    def converted(self) -> bool:
        """True when tinyreport made the float and int8 TFLite files from a Keras model."""
        return {"keras", "tflite_float", "tflite_int8"} <= set(self.variants)

    @property
    def weights_bytes(self) -> int:
        """Parameters x 4 bytes: the float32 weights alone, no file format."""
        return self.params * 4

    @property
    def keras_over_weights(self) -> float:
        return self.variants["keras"].size_bytes / self.weights_bytes

    @property
    def float_over_int8(self) -> float:
        return self.variants["tflite_float"].size_bytes / self.variants["tflite_int8"].size_bytes

    @property
    def keras_over_int8(self) -> float:
        return self.variants["keras"].size_bytes / self.variants["tflite_int8"].size_bytes

    @property
    def int8_accuracy_delta(self) -> float:
        """int8 minus float TFLite accuracy, in percentage points."""
        v = self.variants
        return 100.0 * (v["tflite_int8"].accuracy - v["tflite_float"].accuracy)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["variants"] = {k: v.to_dict() for k, v in self.variants.items()}
        data["weights_bytes"] = self.weights_bytes
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelResult:
        data = dict(data)
        data.pop("weights_bytes", None)
        if data.get("training") is not None:
            data["training"] = _build(Training, data["training"])
        data["variants"] = {k: Variant.from_dict(v) for k, v in data["variants"].items()}
        return _build(cls, data)


@dataclass(frozen=True)
class DatasetInfo:
    """The data every variant was trained, calibrated and evaluated on."""

    description: str
    sha256: str
    n_train: int
    n_test: int
    input_shape: list[int] = field(default_factory=list)  # one sample, no batch axis
    labels: list[str] = field(default_factory=list)  # class names in label order


@dataclass(frozen=True)
class Results:
    """The whole results file."""

    tinyreport_version: str
    board: str
    dataset: DatasetInfo
    models: list[ModelResult]
    format: int = FORMAT_VERSION
    device_logs: list[dict[str, Any]] = field(default_factory=list)  # every ingested log file
    run: dict[str, Any] | None = None  # the run that produced these figures (see pipeline/run)

    def model(self, name: str) -> ModelResult:
        return next(m for m in self.models if m.name == name)

    @property
    def labels(self) -> list[str]:
        """Class names in label order (label numbers for a results file that has none)."""
        if self.dataset.labels:
            return self.dataset.labels
        first = next((v.evaluation for m in self.models for v in m.variants.values()), None)
        return [str(i) for i in range(len(first.confusion) if first else 0)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "tinyreport_version": self.tinyreport_version,
            "board": self.board,
            "dataset": asdict(self.dataset),
            "models": [m.to_dict() for m in self.models],
            "device_logs": self.device_logs,
            "run": self.run,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Results:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"results format {data.get('format')!r} is not {FORMAT_VERSION}; "
                "run `tinyreport collect` again"
            )
        data = dict(data)
        data["dataset"] = _build(DatasetInfo, data["dataset"])
        data["models"] = [ModelResult.from_dict(m) for m in data["models"]]
        return _build(cls, data)


def is_results_file(path: Path) -> bool:
    """True when `path` is absent or holds a results file that tinyreport wrote.

    Cheap on a file of any size: `dumps` sorts the keys, so a results file opens with `{`
    and names its format at the start or its `tinyreport_version` at the end.
    """
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            f.seek(max(0, f.seek(0, 2) - 4096))
            tail = f.read()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"tinyreport_version": ' in head + tail


def dumps(data: dict[str, Any]) -> str:
    """Serialise deterministically: sorted keys, fixed indentation, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
