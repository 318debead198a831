"""The package's arrows point one way: device/ and site/ read the results file, never pipeline/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinyreport"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_scan_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from tinyreport.pipeline import collect\n")
    assert "tinyreport.pipeline.collect" in imported_modules(path)


@pytest.mark.parametrize("layer", ["device", "site", "analysis"])
def test_layer_never_imports_the_pipeline(layer):
    offenders = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            m for m in imported_modules(path) if m.startswith("tinyreport.pipeline")
        )
        for path in sorted((PACKAGE / layer).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
