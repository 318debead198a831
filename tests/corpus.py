"""The corpus of public .tflite models in tests/data/corpus/ and its provenance table."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CORPUS = Path(__file__).parent / "data" / "corpus"
PROVENANCE = CORPUS / "PROVENANCE.csv"


@dataclass(frozen=True)
class CorpusModel:
    """One vendored model and where it came from."""

    file: str
    repository: str
    path: str
    commit: str
    licence: str
    n_bytes: int
    notes: str

    @property
    def model_path(self) -> Path:
        """The vendored file."""
        return CORPUS / self.file


@cache
def corpus() -> tuple[CorpusModel, ...]:
    """Every model of the provenance table, in file name order."""
    with PROVENANCE.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return tuple(
        CorpusModel(
            r["file"], r["repository"], r["path"], r["commit"], r["licence"], int(r["bytes"]),
            r["notes"],
        )
        for r in sorted(rows, key=lambda r: r["file"])
    )  # fmt: skip


def corpus_names() -> list[str]:
    """File names of the corpus models, sorted."""
    return [m.file for m in corpus()]
