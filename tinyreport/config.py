"""The one declared schema for tinyreport.toml; every problem is reported at once with its key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tinyreport.errors import ConfigError

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class _Section(BaseModel):
    # Strict: TOML has types, so `epochs = true` or `n_test = "100"` is a mistake to report,
    # not a value to coerce. A float key still takes a TOML integer (`learning_rate = 1`).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10")


class DatasetConfig(_Section):
    """Where the data comes from, how much of it is used and what its classes are called."""

    source: Literal["bundled", "keras", "npz"] = Field(
        "bundled",
        description="`bundled`: the MNIST copy shipped inside tinyreport (checked by sha256); "
        "`keras`: a Keras data set (`name`) from the Keras cache, downloaded if absent; "
        "`npz`: a file of your own with `x_train`, `y_train`, `x_test`, `y_test` "
        "(inputs of any shape: images HxW or HxWxC, 1-D windows, features; uint8 is scaled "
        "to [0, 1], float32 is used as stored; labels are integers 0 to classes - 1).",
    )
    name: Literal["mnist", "fashion_mnist", "cifar10"] = Field(
        "mnist", description='The Keras data set when `source = "keras"`.'
    )
    path: str | None = Field(None, description='Path of the `.npz` file when `source = "npz"`.')
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Expected sha256 of a user `.npz`; checked on load when given.",
    )
    labels: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None,
        min_length=2,
        max_length=1000,
        description="Class names in label order (label 0 first), shown on every page; "
        "default: the data set's own names for Keras data sets, else the label numbers.",
    )
    n_train: int | None = Field(
        None, ge=1, description="Training samples used (the first N); default: all of them."
    )
    n_test: int | None = Field(
        None, ge=1, description="Test samples used (the first N); default: all of them."
    )

    @model_validator(mode="after")
    def _path_matches_source(self) -> DatasetConfig:
        if self.source == "npz" and not self.path:
            raise ValueError('`path` is required when source = "npz"')
        if self.source != "npz" and self.path:
            raise ValueError('`path` is only used when source = "npz"')
        if self.source != "keras" and "name" in self.model_fields_set:
            raise ValueError('`name` is only used when source = "keras"')
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ValueError("`labels` must not repeat a name")
        return self


class TrainingConfig(_Section):
    """How every model is trained (a model may override `epochs`)."""

    epochs: int = Field(10, ge=1, le=200, description="Training epochs.")
    batch_size: int = Field(32, ge=1, le=8192, description="Mini-batch size.")
    # NumPy (under keras.utils.set_random_seed) takes seeds up to 2**32 - 1 only.
    seed: int = Field(
        42, ge=0, le=2**32 - 1, description="Seed for weights, shuffling and sampling."
    )
    learning_rate: float = Field(
        1e-3, gt=0, le=1, allow_inf_nan=False, description="Adam learning rate."
    )
    backend: Literal["tensorflow", "jax"] = Field(
        "tensorflow",
        description="Keras backend to train with; conversion always runs under TensorFlow. "
        "`jax` is not supported yet: collect says so.",
    )


class QuantizationConfig(_Section):
    """Full-int8 post-training quantization."""

    representative_samples: int = Field(
        500,
        ge=1,
        le=60000,
        description="Training images used to calibrate int8 ranges (at most `dataset.n_train`).",
    )


class EspdlConfig(_Section):
    """ESP-DL int8: Espressif's own path (ESP-PPQ quantization to a .espdl model), simulated on
    the host beside TFLM int8 for every Keras model; needs the `tinyreport[espdl]` extra."""

    enabled: bool = Field(
        True, description="Build `espdl_int8` when the extra is installed (else say why not)."
    )
    target: Literal["esp32s3", "esp32p4"] = Field(
        "esp32s3", description="The chip ESP-PPQ targets."
    )
    error_samples: int = Field(
        64,
        ge=1,
        le=10000,
        description="Calibration samples ESP-PPQ's graphwise and layerwise error analysis runs on.",
    )
    int16_layers: int = Field(
        0,
        ge=0,
        le=64,
        description="Also quantize the N layers with the largest layerwise error at 16 bits "
        "(ESP-PPQ's mixed precision) and report what that buys; 0: do not.",
    )


class PatternConfig(_Section):
    """A line format of your own firmware: a regular expression (Python syntax, searched in
    each log line) whose named groups say what the line holds: `op` and `index` (an
    operator), `us`, `ms` or `ticks` (a time: with `op` the operator's, else one inference's),
    `arena_bytes`, `free_bytes`, `model` (the model's name in this file)."""

    name: str = Field(pattern=NAME_PATTERN, description="Names the format on the pages.")
    regex: str = Field(min_length=1, max_length=2000, description="The regular expression.")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, regex: str) -> str:
        import re

        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        groups = set(compiled.groupindex)
        known = {"op", "index", "us", "ms", "ticks", "arena_bytes", "free_bytes", "model"}
        if groups - known:
            raise ValueError(
                f"unknown named groups {', '.join(sorted(groups - known))}; "
                f"use {', '.join(sorted(known))}"
            )
        if not groups & {"us", "ms", "ticks", "arena_bytes", "free_bytes", "model"}:
            raise ValueError("needs a named group for a figure (us, ms, ticks, arena_bytes, ...)")
        return regex


class IngestConfig(_Section):
    """How device logs are read, beyond the built-in formats."""

    patterns: list[PatternConfig] = Field(
        [], max_length=50, description="Your firmware's own line formats ([[ingest.patterns]])."
    )


OPTIMIZATIONS = ("qat", "prune", "float16", "dynamic", "int16x8")


class _KerasModel(_Section):
    """Keys of every model section that has a Keras model: extra variants and distillation."""

    optimize: list[Literal[OPTIMIZATIONS]] = Field(
        [],
        description="Extra variants: `float16` (float16 weights), `dynamic` (int8 weights, "
        "float activations), `int16x8` (int16 activations, int8 weights), `prune` (magnitude "
        "pruning to `sparsity`, fine-tuned, full int8), `qat` (quantization-aware training; "
        "not built yet: the results say why).",
    )
    sparsity: float = Field(
        0.5, ge=0.05, le=0.95, description="Share of each layer's weights `prune` sets to zero."
    )
    teacher: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="A model defined above this one: this model is trained from its soft "
        "targets (knowledge distillation), and once more alone for comparison.",
    )
    alpha: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Distillation: weight of the true labels' loss (the rest "
        "goes to the teacher's soft targets).",
    )
    temperature: float = Field(
        10.0, gt=0, le=100, description="Distillation: softmax temperature of the soft targets."
    )


class MlpConfig(_KerasModel):
    """Flatten -> Dense ReLU layers -> Dense softmax over the classes."""

    kind: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field([128, 64], min_length=1)
    epochs: int | None = Field(None, ge=1, le=200, description="Overrides training.epochs.")


class CnnConfig(_KerasModel):
    """(Conv 3x3 ReLU -> MaxPool 2x2) per filter count -> Flatten -> Dense ReLU -> Dense softmax.

    Images (HxW or HxWxC) get 2-D convolutions; 1-D inputs (L or LxC) get 1-D ones (kernel 3,
    pool 2)."""

    kind: Literal["cnn"]
    filters: list[Annotated[int, Field(ge=1, le=256)]] = Field([8, 16], min_length=1, max_length=3)
    dense: int = Field(32, ge=1, le=4096)
    conv: Literal["auto", "1d", "2d"] = Field(
        "auto",
        description="`auto`: 1-D convolutions for L or LxC windows (fewer than 6 columns), "
        "2-D for HxW or HxWxC images.",
    )
    epochs: int | None = Field(None, ge=1, le=200, description="Overrides training.epochs.")


class KerasConfig(_KerasModel):
    """A Keras model of your own: a trained `.keras` file used as is, or a builder to train."""

    kind: Literal["keras"]
    path: str | None = Field(
        None, description="A trained `.keras` file (relative to the config); never retrained."
    )
    builder: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="`module:function` imported from the project folder; "
        "`function(input_shape=..., num_classes=...)` returns a `keras.Model`, which tinyreport "
        "compiles and trains with [training].",
    )
    epochs: int | None = Field(None, ge=1, le=200, description="Overrides training.epochs.")

    @model_validator(mode="after")
    def _one_source(self) -> KerasConfig:
        if (self.path is None) == (self.builder is None):
            raise ValueError("give exactly one of `path` (a trained .keras) or `builder`")
        if self.path is not None and not self.path.endswith(".keras"):
            raise ValueError("`path` must name a .keras file")
        if self.path is not None and self.epochs is not None:
            raise ValueError("`epochs` is only used with `builder`: a .keras file is not trained")
        if self.path is not None and self.teacher is not None:
            raise ValueError("`teacher` is only used with `builder`: a .keras file is not trained")
        return self


class TfliteConfig(_Section):
    """A `.tflite` file from any converter, reported as what it is (float or int8)."""

    kind: Literal["tflite"]
    path: str = Field(description="The `.tflite` file (relative to the config).")

    @field_validator("path")
    @classmethod
    def _suffix(cls, path: str) -> str:
        if not path.endswith(".tflite"):
            raise ValueError("`path` must name a .tflite file")
        return path


ModelConfig = Annotated[
    MlpConfig | CnnConfig | KerasConfig | TfliteConfig, Field(discriminator="kind")
]


class OutputConfig(_Section):
    """Where tinyreport writes; paths are relative to the configuration file."""

    artifacts_dir: str = Field("artifacts", description="Converted models and results, cached.")
    model_store: str = Field(
        "models/store",
        description="Trained Keras models, one folder per model and key; commit it, so that "
        "every machine converts and measures the same trained weights.",
    )
    docs_dir: str = Field("docs", description="The MkDocs `docs_dir`; assets are copied here.")
    results: str = Field("docs/data/results.json", description="The results file.")
    pages_dir: str = Field("docs/report", description="Generated pages (owned by tinyreport).")
    logs_dir: str = Field("benchmarks/logs", description="Device serial logs to ingest.")


class Config(_Section):
    """The whole of tinyreport.toml."""

    board: str = Field("xiao-esp32s3", pattern=NAME_PATTERN.replace("_", "_-"))
    dataset: DatasetConfig = DatasetConfig()
    training: TrainingConfig = TrainingConfig()
    quantization: QuantizationConfig = QuantizationConfig()
    espdl: EspdlConfig = EspdlConfig()
    ingest: IngestConfig = IngestConfig()
    output: OutputConfig = OutputConfig()
    models: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ModelConfig] = Field(min_length=1)

    root: Path = Field(Path("."), exclude=True, description="Directory of the config file.")

    @field_validator("board")
    @classmethod
    def _known_board(cls, board: str) -> str:
        from tinyreport.analysis.boards import board_ids

        if board not in board_ids():
            raise ValueError(f"unknown board; choose one of: {', '.join(board_ids())}")
        return board

    def log_patterns(self) -> tuple:
        """The [[ingest.patterns]] as the log parser takes them."""
        from tinyreport.device.serial.parse import UserPattern

        return tuple(UserPattern(p.name, p.regex) for p in self.ingest.patterns)

    @model_validator(mode="after")
    def _teachers(self) -> Config:
        names = list(self.models)
        for i, (name, spec) in enumerate(self.models.items()):
            teacher = getattr(spec, "teacher", None)
            if teacher is None:
                continue
            if teacher not in names[:i]:
                raise ValueError(
                    f"models.{name}.teacher: {teacher!r} must name a model defined above {name}"
                )
            if self.models[teacher].kind == "tflite":
                raise ValueError(
                    f"models.{name}.teacher: {teacher!r} is a .tflite model; a teacher needs "
                    "a Keras model"
                )
        return self

    def path(self, relative: str) -> Path:
        """Resolve a configured path against the configuration file's directory."""
        return (self.root / relative).resolve()

    def epochs_for(self, name: str) -> int:
        """Return the epochs used for model `name` (only meaningful for models it trains)."""
        return getattr(self.models[name], "epochs", None) or self.training.epochs


def _key(loc: tuple) -> str:
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "models" and parts[2] in ("mlp", "cnn", "keras", "tflite"):
        del parts[2]  # pydantic's discriminator tag, not a key the user wrote
    return ".".join(str(p) for p in parts)


def _toml_value(value: object) -> str:
    """Write a parsed TOML value back the way the user wrote it, or name its kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if hasattr(value, "isoformat"):
        return value.isoformat()  # TOML dates and times
    return str(value)


def _describe(errors: list[dict]) -> str:
    lines = []
    for err in errors:
        key = _key(err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] in ("int_type", "float_type", "string_type", "list_type", "dict_type"):
            msg = f"{msg}, got {_toml_value(err['input'])}"
        lines.append(f"Config value '{key}': {msg}")
    return "\n".join(lines)


def parse_config(data: dict, root: Path = Path(".")) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    if "root" in data:
        raise ConfigError("Config value 'root': unknown key")
    try:
        return Config.model_validate({**data, "root": root})
    except ValidationError as exc:
        raise ConfigError(
            "invalid configuration:\n" + _describe(exc.errors(include_url=False))
        ) from None


def _not_utf8(exc: UnicodeDecodeError) -> str:
    """Say why bytes are not UTF-8: a UTF-16 byte-order mark, or the first bad byte's line."""
    raw = exc.object
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "is UTF-16 text"
    line = raw[: exc.start].count(b"\n") + 1
    return f"is not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line})"


def load_config(path: Path) -> Config:
    """Read and validate tinyreport.toml."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {path}; run from the repository root or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        # TOML is UTF-8; accept the byte-order mark some Windows editors put in front.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} {_not_utf8(exc)}; a configuration must be UTF-8 TOML, so save it as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode would
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(data, root=path.resolve().parent)


SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("(top level)", Config),
    ("[dataset]", DatasetConfig),
    ("[training]", TrainingConfig),
    ("[quantization]", QuantizationConfig),
    ("[espdl]", EspdlConfig),
    ("[[ingest.patterns]]", PatternConfig),
    ("[output]", OutputConfig),
    ('[models.NAME] with kind = "mlp"', MlpConfig),
    ('[models.NAME] with kind = "cnn"', CnnConfig),
    ('[models.NAME] with kind = "keras"', KerasConfig),
    ('[models.NAME] with kind = "tflite"', TfliteConfig),
]


def _constraints(metadata: list) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "min items"}
    words |= {"max_length": "max items", "pattern": "matches"}
    out = []
    for item in metadata:
        for attr, word in words.items():
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{word} `{value}`" if attr == "pattern" else f"{word} {value}")
    return ", ".join(out)


def _type_name(annotation: object) -> tuple[str, str]:
    """A readable type (``list[int]``, ``str or None``) and the rules on a list's items."""
    if get_origin(annotation) is list:
        [item] = get_args(annotation)
        rules = ""
        if get_origin(item) is Annotated:
            item, *extra = get_args(item)
            rules = _constraints([m for info in extra for m in getattr(info, "metadata", [info])])
        return f"list[{_type_name(item)[0]}]", rules
    text = str(annotation).replace("typing.", "").replace("<class '", "").replace("'>", "")
    return text.replace(" | ", " or "), ""


def reference() -> list[dict]:
    """Describe every key of the schema, section by section, for the generated reference page."""
    sections = []
    for title, model in SECTIONS:
        rows = []
        for key, field in model.model_fields.items():
            if key in (
                "dataset", "training", "quantization", "espdl", "ingest", "output", "models",
                "root",
            ):  # fmt: skip
                continue
            annotation, item_rules = _type_name(field.annotation)
            default = "required" if field.is_required() else repr(field.default)
            constraints = _constraints(field.metadata)
            if item_rules:
                constraints = ", ".join(filter(None, [constraints, f"each {item_rules}"]))
            rows.append(
                {
                    "key": key,
                    "type": annotation,
                    "default": default,
                    "constraints": constraints,
                    "description": field.description or "",
                }
            )
        sections.append({"title": title, "doc": model.__doc__ or "", "rows": rows})
    return sections
