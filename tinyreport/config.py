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


class DatasetConfig(_Section):
    """Where the MNIST data comes from and how much of it is used."""

    source: Literal["bundled", "keras", "npz"] = Field(
        "bundled",
        description="`bundled`: the copy shipped inside tinyreport (checked by sha256); "
        "`keras`: the Keras cache `~/.keras/datasets/mnist.npz`, downloaded if absent; "
        "`npz`: a file of your own with the same layout "
        "(`x_train`, `y_train`, `x_test`, `y_test`).",
    )
    path: str | None = Field(None, description='Path of the `.npz` file when `source = "npz"`.')
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Expected sha256 of a user `.npz`; checked on load when given.",
    )
    n_train: int = Field(60000, ge=100, le=60000, description="Training images used (first N).")
    n_test: int = Field(10000, ge=100, le=10000, description="Test images used (first N).")

    @model_validator(mode="after")
    def _path_matches_source(self) -> DatasetConfig:
        if self.source == "npz" and not self.path:
            raise ValueError('`path` is required when source = "npz"')
        if self.source != "npz" and self.path:
            raise ValueError('`path` is only used when source = "npz"')
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


class QuantizationConfig(_Section):
    """Full-int8 post-training quantization."""

    representative_samples: int = Field(
        500,
        ge=1,
        le=60000,
        description="Training images used to calibrate int8 ranges (at most `dataset.n_train`).",
    )


class MlpConfig(_Section):
    """Flatten -> Dense ReLU layers -> Dense 10 softmax."""

    kind: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field([128, 64], min_length=1)
    epochs: int | None = Field(None, ge=1, le=200, description="Overrides training.epochs.")


class CnnConfig(_Section):
    """(Conv 3x3 ReLU -> MaxPool 2x2) per filter count -> Flatten -> Dense ReLU -> Dense 10."""

    kind: Literal["cnn"]
    filters: list[Annotated[int, Field(ge=1, le=256)]] = Field([8, 16], min_length=1, max_length=3)
    dense: int = Field(32, ge=1, le=4096)
    epochs: int | None = Field(None, ge=1, le=200, description="Overrides training.epochs.")


ModelConfig = Annotated[MlpConfig | CnnConfig, Field(discriminator="kind")]


class OutputConfig(_Section):
    """Where tinyreport writes; paths are relative to the configuration file."""

    artifacts_dir: str = Field("artifacts", description="Trained and converted models, cached.")
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

    def path(self, relative: str) -> Path:
        """Resolve a configured path against the configuration file's directory."""
        return (self.root / relative).resolve()

    def epochs_for(self, name: str) -> int:
        """Return the epochs used for model `name`."""
        return self.models[name].epochs or self.training.epochs


def _key(loc: tuple) -> str:
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "models" and parts[2] in ("mlp", "cnn"):
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
    ("[output]", OutputConfig),
    ('[models.NAME] with kind = "mlp"', MlpConfig),
    ('[models.NAME] with kind = "cnn"', CnnConfig),
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
            if key in ("dataset", "training", "quantization", "output", "models", "root"):
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
