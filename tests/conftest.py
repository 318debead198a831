"""Shared fixtures and the --update-gold switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyreport.results import Results

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def pytest_addoption(parser):
    parser.addoption(
        "--update-gold",
        action="store_true",
        help="Rewrite tests/gold/ from the current rendering instead of comparing.",
    )


@pytest.fixture
def update_gold(request) -> bool:
    return request.config.getoption("--update-gold")


@pytest.fixture
def fixture_results() -> Results:
    """A real results file from a small collect run (1 epoch, 3,000 training images)."""
    return Results.from_dict(json.loads((DATA / "results_fixture.json").read_text()))
