"""Board data: memories, clocks and budget defaults, read from tinyreport/analysis/boards/*.toml.

Each board file cites a source for every number under `[sources]`; numbers whose source starts
with "estimate" are shown as estimates.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tinyreport.errors import ConfigError

_TOP_INTS = (
    "cpu_mhz",
    "pointer_bytes",
    "sram_bytes",
    "psram_bytes",
    "flash_bytes",
    "app_partition_bytes",
)
_BUDGET_INTS = (
    "usable_sram_bytes",
    "stack_bytes",
    "system_bytes",
    "wifi_bytes",
    "ble_bytes",
    "application_flash_bytes",
)


@dataclass(frozen=True)
class Board:
    """One target board."""

    id: str
    name: str
    mcu: str
    kernels: str
    arena_profile: str  # a tinyreport.analysis.arena profile name
    cpu_mhz: int
    pointer_bytes: int
    sram_bytes: int
    psram_bytes: int
    flash_bytes: int
    app_partition_bytes: int
    usable_sram_bytes: int
    stack_bytes: int
    system_bytes: int
    wifi_bytes: int
    ble_bytes: int
    application_flash_bytes: int
    sources: tuple[tuple[str, str], ...]
    # False when the board's kernels (CMSIS-NN, generic ESP-NN) request scratch buffers that its
    # arena profile does not plan: the computed arena is then a lower bound.
    kernel_scratch_modelled: bool = True
    # The kernel library whose latency coefficients predict this board's operators
    # (tinyreport/analysis/latency_coefficients.json); "" when no public data calibrates one.
    latency_library: str = ""

    def source(self, key: str) -> str:
        """Where the number under `key` comes from ("" when not given)."""
        return dict(self.sources).get(key, "")

    def is_estimate(self, key: str) -> bool:
        """True when the number under `key` is an estimate rather than a documented fact."""
        return self.source(key).startswith("estimate") or not self.source(key)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        data = {k: getattr(self, k) for k in ("id", "name", "mcu", "kernels", "arena_profile")}
        data["kernel_scratch_modelled"] = self.kernel_scratch_modelled
        data["latency_library"] = self.latency_library
        data.update({k: getattr(self, k) for k in _TOP_INTS + _BUDGET_INTS})
        data["sources"] = dict(self.sources)
        return data


def board_ids() -> list[str]:
    """Ids of the bundled boards, sorted."""
    folder = resources.files("tinyreport.analysis.boards")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


@cache
def load_board(board_id: str) -> Board:
    """Load and check one bundled board file; report every problem at once."""
    from tinyreport.analysis.arena import PROFILES

    known = board_ids()
    if board_id not in known:
        raise ConfigError(f"Unknown board '{board_id}'; choose one of: {', '.join(known)}.")
    text = (resources.files("tinyreport.analysis.boards") / f"{board_id}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    budget = data.get("budget", {})
    sources = data.get("sources", {})
    problems = []
    for key in ("name", "mcu", "kernels", "arena_profile"):
        if not isinstance(data.get(key), str):
            problems.append(f"'{key}' must be a string")
    for key, table in [(k, data) for k in _TOP_INTS] + [(k, budget) for k in _BUDGET_INTS]:
        value = table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"'{key}' must be a whole number of bytes/MHz >= 0")
    for key in ("sram_bytes", "flash_bytes", "app_partition_bytes", "usable_sram_bytes"):
        if not sources.get(key):
            problems.append(f"'{key}' has no source under [sources]")
    if not isinstance(data.get("kernel_scratch_modelled", True), bool):
        problems.append("'kernel_scratch_modelled' must be true or false")
    latency = data.get("latency_library", "")
    if not isinstance(latency, str) or (latency and latency not in _latency_libraries()):
        problems.append(f"'latency_library' must be one of {', '.join(_latency_libraries())}")
    if data.get("arena_profile") not in PROFILES:
        problems.append(f"'arena_profile' must be one of {', '.join(PROFILES)}")
    if problems:
        raise ConfigError(f"Board file {board_id}.toml: " + "; ".join(problems) + ".")
    return Board(
        id=board_id,
        name=data["name"],
        mcu=data["mcu"],
        kernels=data["kernels"],
        arena_profile=data["arena_profile"],
        **{k: data[k] for k in _TOP_INTS},
        **{k: budget[k] for k in _BUDGET_INTS},
        sources=tuple(sorted((str(k), str(v)) for k, v in sources.items())),
        kernel_scratch_modelled=data.get("kernel_scratch_modelled", True),
        latency_library=data.get("latency_library", ""),
    )


def _latency_libraries() -> list[str]:
    from tinyreport.analysis.latency import coefficients

    return sorted(coefficients()["libraries"])
