"""Log lines of other people's firmware: TFLM's benchmark runners, free-text per-operator
times, and a project's own formats declared in [[ingest.patterns]]."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tinyreport.config import parse_config
from tinyreport.device.serial.parse import UserPattern, parse_log, parse_log_by_line
from tinyreport.errors import ConfigError

BENCHMARK_LOG = b"""\
InitializeKeywordRunner took 19 ticks (19 ms).
KeywordRunNIerations(10) took 343 ticks (343 ms)
Operation CONV_2D (number 0) executed in 1280 microseconds.
Operation FULLY_CONNECTED (number 1) executed in 33 microseconds.
Operation SOFTMAX (number 2) executed in 4 microseconds.
"""

OWN_LOG = b"""\
boot: my firmware v2
[bench] model=kws_small
[bench] layer 0 conv took 812.5 us
[bench] layer 1 dense took 40 us
[bench] inference 905 us, arena 10240 B
[bench] inference 899 us, arena 10240 B
"""

OWN_PATTERNS = (
    UserPattern("mine_model", r"\[bench\] model=(?P<model>\w+)"),
    UserPattern("mine_layer", r"\[bench\] layer (?P<index>\d+) (?P<op>\w+) took (?P<us>[\d.]+) us"),
    UserPattern("mine_run", r"\[bench\] inference (?P<us>\d+) us, arena (?P<arena_bytes>\d+) B"),
)


def _records(data: bytes, patterns=()) -> list[tuple[str, dict, str]]:
    log = parse_log(data, "x.log", patterns)
    assert log == parse_log_by_line(data, "x.log", patterns)  # bulk reading = line by line
    return [(r.kind, r.fields, r.source.fmt) for b in log.boots for r in b.records]


def test_tflm_benchmark_runner_and_executed_in_lines():
    records = _records(BENCHMARK_LOG)
    assert ("lat", {"us": [34300.0], "i": None}, "tflm-benchmark") in records  # 343 ms / 10
    ops = [(f["op"], f["i"], f["us"]) for kind, f, _ in records if kind == "op"]
    assert ops == [("CONV_2D", 0, 1280.0), ("FULLY_CONNECTED", 1, 33.0), ("SOFTMAX", 2, 4.0)]
    # "Initialize...Runner took" is set-up, not an inference: no latency from it
    assert [f for kind, f, _ in records if kind == "lat"] == [{"us": [34300.0], "i": None}]


def test_own_patterns_give_ops_latency_arena_and_the_model_name():
    records = _records(OWN_LOG, OWN_PATTERNS)
    assert ("model_name", {"name": "kws_small"}, "pattern:mine_model") in records
    ops = [(f["op"], f["i"], f["us"]) for kind, f, fmt in records if kind == "op"]
    assert ops == [("conv", 0, 812.5), ("dense", 1, 40.0)]
    lat = [f["us"] for kind, f, _ in records if kind == "lat"]
    assert lat == [[905.0], [899.0]]
    arenas = [f["arena_used_bytes"] for kind, f, _ in records if kind == "alloc"]
    assert arenas == [10240, 10240]
    # Without the patterns only the free-text reading of "arena" is left: no operator, no
    # latency, no model name, and the arena read as the one given, not the one used.
    assert _records(OWN_LOG) == [("arena_given", {"arena_given_bytes": 10240}, "text")] * 2


def test_patterns_come_from_the_config_through_the_cli(tmp_path):
    (tmp_path / "tinyreport.toml").write_text(
        '[models.m]\nkind = "mlp"\n'
        "[[ingest.patterns]]\n"
        'name = "mine_layer"\n'
        "regex = '\\[bench\\] layer (?P<index>\\d+) (?P<op>\\w+) took (?P<us>[\\d.]+) us'\n"
        "[[ingest.patterns]]\n"
        'name = "mine_run"\n'
        "regex = '\\[bench\\] inference (?P<us>\\d+) us, arena (?P<arena_bytes>\\d+) B'\n"
    )
    (tmp_path / "run.log").write_bytes(OWN_LOG)
    proc = subprocess.run(
        [sys.executable, "-m", "tinyreport", "ingest", "run.log", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    [run] = json.loads(proc.stdout)
    assert [(o["op"], o["us"]) for o in run["ops"]] == [("conv", 812.5), ("dense", 40.0)]
    assert run["latency"]["n"] == 2 and run["latency"]["median_us"] == 902.0
    assert run["arena"]["used_bytes"] == 10240
    assert sorted(run["source"]["formats"]) == ["pattern:mine_layer", "pattern:mine_run"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"name": "a", "regex": "(?P<us>\\d+"}, "not a regular expression"),
        ({"name": "b", "regex": "(?P<speed>\\d+) us"}, "unknown named groups speed"),
        ({"name": "c", "regex": "(?P<op>\\w+) ran"}, "needs a named group for a figure"),
        ({"name": "Bad Name", "regex": "(?P<us>\\d+)"}, "String should match pattern"),
    ],
)
def test_bad_patterns_are_config_errors_with_their_key(pattern, message):
    with pytest.raises(ConfigError) as err:
        parse_config({"models": {"m": {"kind": "mlp"}}, "ingest": {"patterns": [pattern]}})
    assert "Config value 'ingest.patterns.0." in str(err.value)
    assert message in str(err.value)
