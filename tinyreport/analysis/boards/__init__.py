"""Board data: memories, clocks and budget defaults, read from tinyreport/analysis/boards/*.toml.

Each board file cites a source for every number under `[sources]` and a public document for its
memories and clock under `[urls]`; numbers whose source starts with "estimate" are shown as
estimates. The schema is `load_board()`'s checks; docs/reference/analysis.md describes the fields.
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
_STRINGS = ("name", "family", "mcu", "core", "kernels", "kernel_library", "arena_profile")
#: The kernel libraries a board's TFLM build can use; `kernels` says which build exactly.
KERNEL_LIBRARIES = ("ESP-NN", "CMSIS-NN", "reference")
#: Numbers that must cite a source under [sources]; the first three also a URL under [urls].
_CITED = ("sram_bytes", "flash_bytes", "cpu_mhz", "app_partition_bytes", "usable_sram_bytes")
_LINKED = ("sram_bytes", "flash_bytes", "cpu_mhz")


@dataclass(frozen=True)
class Board:
    """One target board."""

    id: str
    name: str
    family: str  # chip family, for grouping: "ESP32", "STM32", "RP2", "nRF52", ...
    mcu: str
    core: str  # CPU core, e.g. "Xtensa LX7", "Cortex-M4F", "RISC-V"
    kernels: str  # the TFLM build the board runs, in words
    kernel_library: str  # one of KERNEL_LIBRARIES
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
    urls: tuple[tuple[str, str], ...] = ()
    # False when the board's kernels (CMSIS-NN, generic ESP-NN) request scratch buffers that its
    # arena profile does not plan: the computed arena is then a lower bound.
    kernel_scratch_modelled: bool = True
    # Why the planned arena is only an estimate for this board even with its scratch modelled
    # (e.g. an ABI no profile describes); "" when the profile describes the board's build.
    arena_note: str = ""
    # False for boards TFLM has no port for (8-bit AVR): listed for comparison, never a fit.
    tflm_supported: bool = True
    # The kernel library whose latency coefficients predict this board's operators
    # (tinyreport/analysis/latency_coefficients.json); "" when no public data calibrates one.
    latency_library: str = ""

    def source(self, key: str) -> str:
        """Where the number under `key` comes from ("" when not given)."""
        return dict(self.sources).get(key, "")

    def url(self, key: str) -> str:
        """The public document the number under `key` comes from ("" when not given)."""
        return dict(self.urls).get(key, "")

    def is_estimate(self, key: str) -> bool:
        """True when the number under `key` is an estimate rather than a documented fact."""
        return self.source(key).startswith("estimate") or not self.source(key)

    @property
    def arena_is_lower_bound(self) -> bool:
        """True when the planned arena leaves out scratch buffers the board's kernels request."""
        return not self.kernel_scratch_modelled

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        data = {k: getattr(self, k) for k in ("id",) + _STRINGS}
        data["kernel_scratch_modelled"] = self.kernel_scratch_modelled
        data["arena_note"] = self.arena_note
        data["tflm_supported"] = self.tflm_supported
        data["latency_library"] = self.latency_library
        data.update({k: getattr(self, k) for k in _TOP_INTS + _BUDGET_INTS})
        data["sources"] = dict(self.sources)
        data["urls"] = dict(self.urls)
        return data


def board_ids() -> list[str]:
    """Ids of the bundled boards, sorted."""
    folder = resources.files("tinyreport.analysis.boards")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def all_boards() -> list[Board]:
    """Every bundled board, by family, then usable SRAM, then id."""
    return sorted(
        (load_board(b) for b in board_ids()),
        key=lambda b: (b.family, b.usable_sram_bytes, b.id),
    )


def _problems(data: dict) -> list[str]:
    """Everything wrong with one board file's data, each with its key."""
    budget, sources, urls = data.get("budget"), data.get("sources"), data.get("urls")
    problems = []
    for key, table in (("budget", budget), ("sources", sources), ("urls", urls)):
        if not isinstance(table, dict):
            problems.append(f"'[{key}]' table is missing")
    budget, sources, urls = (t if isinstance(t, dict) else {} for t in (budget, sources, urls))
    for key in _STRINGS:
        if not isinstance(data.get(key), str) or not data[key].strip():
            problems.append(f"'{key}' must be a non-empty string")
    for key, table in [(k, data) for k in _TOP_INTS] + [(k, budget) for k in _BUDGET_INTS]:
        value = table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"'{key}' must be a whole number of bytes/MHz >= 0")
    for key in _CITED:
        if not isinstance(sources.get(key), str) or not sources[key]:
            problems.append(f"'{key}' has no source under [sources]")
    for key in _LINKED:
        if not str(urls.get(key, "")).startswith("https://"):
            problems.append(f"'{key}' has no https:// document under [urls]")
    for key, value in urls.items():
        if not isinstance(value, str) or not value.startswith("https://") or " " in value:
            problems.append(f"'urls.{key}' must be one https:// address")
    if not str(sources.get("usable_sram_bytes", "")).startswith(("estimate", "measured")):
        problems.append(
            "the source of 'usable_sram_bytes' must start with 'estimate' or 'measured'"
        )
    if not isinstance(data.get("kernel_scratch_modelled", True), bool):
        problems.append("'kernel_scratch_modelled' must be true or false")
    if not isinstance(data.get("tflm_supported", True), bool):
        problems.append("'tflm_supported' must be true or false")
    if data.get("tflm_supported", True) is False and not data.get("arena_note"):
        problems.append("a board with 'tflm_supported = false' must say why in 'arena_note'")
    if not isinstance(data.get("arena_note", ""), str):
        problems.append("'arena_note' must be a string")
    if data.get("kernel_library") not in KERNEL_LIBRARIES:
        problems.append(f"'kernel_library' must be one of {', '.join(KERNEL_LIBRARIES)}")
    ints = [data.get(k) for k in ("sram_bytes", "flash_bytes", "app_partition_bytes")]
    usable = budget.get("usable_sram_bytes")
    if all(isinstance(v, int) for v in ints + [usable]):
        if usable > ints[0]:
            problems.append("'usable_sram_bytes' must not exceed 'sram_bytes'")
        if ints[2] > ints[1]:
            problems.append("'app_partition_bytes' must not exceed 'flash_bytes'")
    return problems


@cache
def load_board(board_id: str) -> Board:
    """Load and check one bundled board file; report every problem at once."""
    from tinyreport.analysis.arena import PROFILES

    known = board_ids()
    if board_id not in known:
        raise ConfigError(f"Unknown board '{board_id}'; choose one of: {', '.join(known)}.")
    text = (resources.files("tinyreport.analysis.boards") / f"{board_id}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    problems = _problems(data)
    if data.get("arena_profile") not in PROFILES:
        problems.append(f"'arena_profile' must be one of {', '.join(PROFILES)}")
    latency = data.get("latency_library", "")
    if not isinstance(latency, str) or (latency and latency not in _latency_libraries()):
        problems.append(f"'latency_library' must be one of {', '.join(_latency_libraries())}")
    if problems:
        raise ConfigError(f"Board file {board_id}.toml: " + "; ".join(problems) + ".")
    return Board(
        id=board_id,
        **{k: data[k] for k in _STRINGS},
        **{k: data[k] for k in _TOP_INTS},
        **{k: data["budget"][k] for k in _BUDGET_INTS},
        sources=tuple(sorted((str(k), str(v)) for k, v in data["sources"].items())),
        urls=tuple(sorted((str(k), str(v)) for k, v in data["urls"].items())),
        kernel_scratch_modelled=data.get("kernel_scratch_modelled", True),
        arena_note=data.get("arena_note", ""),
        tflm_supported=data.get("tflm_supported", True),
        latency_library=data.get("latency_library", ""),
    )


def _latency_libraries() -> list[str]:
    from tinyreport.analysis.latency import coefficients

    return sorted(coefficients()["libraries"])


# Version of the document `tinyreport boards --json` prints (bump on an incompatible change).
# 1: first version.
CATALOGUE_FORMAT = 1


def _mib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):g} MiB"


def catalogue(as_json: bool = False, color: bool = False) -> str:
    """The text `tinyreport boards` prints: a table, or a JSON document with every field."""
    boards = all_boards()
    if as_json:
        import json

        doc = {
            "format": CATALOGUE_FORMAT,
            "n_boards": len(boards),
            "kernel_libraries": list(KERNEL_LIBRARIES),
            "boards": [b.to_dict() for b in boards],
        }
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    import io

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(boards)} boards, by family and usable SRAM (names: --json)")
    for column in ("id", "core", "MHz", "SRAM", "usable", "flash", "PSRAM", "kernels"):
        right = column in ("MHz", "SRAM", "usable", "flash", "PSRAM")
        table.add_column(
            column, justify="right" if right else None, no_wrap=column in ("id", "kernels")
        )
    for i, b in enumerate(boards):
        if i and b.family != boards[i - 1].family:
            table.add_section()
        usable = _mib(b.usable_sram_bytes)
        if b.is_estimate("usable_sram_bytes"):
            usable += " *"
        kernels = b.kernel_library + (" (arena ≥)" if b.arena_is_lower_bound else "")
        if not b.tflm_supported:
            kernels = "no TFLM port"
        elif b.arena_note:
            kernels += " (arena ~)"
        table.add_row(
            b.id,
            b.core,
            str(b.cpu_mhz),
            _mib(b.sram_bytes),
            usable,
            _mib(b.flash_bytes),
            _mib(b.psram_bytes) if b.psram_bytes else "-",
            kernels,
        )
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, width=120, highlight=False)
    console.print(table)
    console.print(
        "usable: SRAM left for the application (* estimated; `--json` gives how each figure "
        "was obtained and the document it comes from). arena ≥: the board's kernels request "
        "scratch buffers that are not modelled, so analyze gives an estimated lower bound; "
        "arena ~: an estimate for a build no arena profile describes; no TFLM port: listed for "
        "comparison, never a fit."
    )
    return buffer.getvalue()
