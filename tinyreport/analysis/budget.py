"""SRAM and flash budgets of a model on a board, with a verdict and the basis of every line.

Policies (also in docs/reference/analysis.md):

- **Arena margin.** The arena the firmware should reserve is the computed target arena plus 10 %
  (at least 1 KiB), rounded up to a whole KiB, while the figure is computed but not confirmed by
  a device log; once a device log confirms it, only the rounding to a whole KiB remains.
- **Verdict.** EXCEEDED when the demand is larger than what is available; TIGHT when less than
  10 % of what is available would be left; OK otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyreport.analysis.boards import Board

MARGIN_FRACTION = 0.10
MARGIN_MIN_BYTES = 1024
ROUND_TO_BYTES = 1024
TIGHT_FRACTION = 0.10
# The same thresholds as demand in % of capacity, for pages and charts (one source: the above).
TIGHT_ABOVE_PC = 100.0 * (1 - TIGHT_FRACTION)  # above this: TIGHT
EXCEEDED_ABOVE_PC = 100.0  # above this: EXCEEDED
VERDICTS = ("OK", "TIGHT", "EXCEEDED")

# .text bytes of TFLM's runtime core and of each kernel, measured by linking an i386 -Os
# harness with --gc-sections against tflite-micro 90b983c, with no operator (core) and then
# with one MicroMutableOpResolver::AddXxx() at a time (the increment). A proxy for Xtensa code
# size, not a measurement of it; kernels that share code (max/average pool) are counted twice.
RUNTIME_FLASH_BYTES = 14_752
KERNEL_FLASH_BYTES = {
    "CONV_2D": 11_390,
    "DEPTHWISE_CONV_2D": 9_870,
    "FULLY_CONNECTED": 8_682,
    "SOFTMAX": 8_534,
    "MAX_POOL_2D": 5_526,
    "AVERAGE_POOL_2D": 5_558,
    "ADD": 16_484,
    "CONCATENATION": 6_900,
    "MEAN": 7_286,
    "RESHAPE": 1_544,
    "SHAPE": 1_008,
    "STRIDED_SLICE": 20_054,
    "PACK": 2_544,
    "EXPAND_DIMS": 1_548,
    "QUANTIZE": 4_150,
    "DEQUANTIZE": 1_732,
}
UNKNOWN_KERNEL_FLASH_BYTES = 10_000  # for kernels not in the table: the table's rough mean


@dataclass(frozen=True)
class BudgetLine:
    """One consumer of a memory, with where its number comes from."""

    what: str
    n_bytes: int
    basis: str  # "computed", "estimated", "measured-host-tflm", "board file", ...

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {"what": self.what, "bytes": self.n_bytes, "basis": self.basis}


@dataclass(frozen=True)
class Budget:
    """Demand against capacity for one memory."""

    memory: str  # "sram" or "flash"
    capacity_bytes: int
    capacity_basis: str
    lines: tuple[BudgetLine, ...]
    note: str = ""

    @property
    def demand_bytes(self) -> int:
        """Sum of the lines."""
        return sum(line.n_bytes for line in self.lines)

    @property
    def headroom_bytes(self) -> int:
        """Capacity left (negative when exceeded)."""
        return self.capacity_bytes - self.demand_bytes

    @property
    def pc_headroom(self) -> float:
        """Headroom as a percentage of the capacity."""
        return 100.0 * self.headroom_bytes / self.capacity_bytes if self.capacity_bytes else 0.0

    @property
    def verdict(self) -> str:
        """OK, TIGHT or EXCEEDED (see the module docstring)."""
        return verdict(self.demand_bytes, self.capacity_bytes)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict."""
        return {
            "capacity_bytes": self.capacity_bytes,
            "capacity_basis": self.capacity_basis,
            "demand_bytes": self.demand_bytes,
            "headroom_bytes": self.headroom_bytes,
            "pc_headroom": round(self.pc_headroom, 2),
            "verdict": self.verdict,
            "lines": [line.to_dict() for line in self.lines],
            "note": self.note,
        }


def verdict(demand: int, capacity: int) -> str:
    """EXCEEDED if demand > capacity, TIGHT if under 10 % would be left, else OK."""
    if demand > capacity:
        return "EXCEEDED"
    if capacity - demand < TIGHT_FRACTION * capacity:
        return "TIGHT"
    return "OK"


def arena_with_margin(arena_bytes: int, confirmed: bool = False) -> int:
    """The arena size to reserve in firmware under the margin policy."""
    margin = 0 if confirmed else max(math.ceil(arena_bytes * MARGIN_FRACTION), MARGIN_MIN_BYTES)
    return math.ceil((arena_bytes + margin) / ROUND_TO_BYTES) * ROUND_TO_BYTES


def _basis(board: Board, key: str) -> str:
    return "estimated (board file)" if board.is_estimate(key) else "board file"


def sram_budget(
    board: Board,
    arena_bytes: int,
    input_bytes: int,
    output_bytes: int,
    *,
    arena_confirmed: bool = False,
    arena_lower_bound: bool = False,
    arena_estimated: bool = False,
    wifi: bool = False,
    ble: bool = False,
) -> Budget:
    """Budget the board's usable internal SRAM around a model's arena.

    `input_bytes`/`output_bytes` are the application's own copies of one input sample and one
    output vector (the tensors themselves live inside the arena). `arena_lower_bound`: the
    arena leaves out the scratch buffers of the board's kernels (see Board.kernel_scratch_modelled).
    `arena_estimated`: the arena was planned for another build than the board's (Board.arena_note).
    """
    reserved = arena_with_margin(arena_bytes, arena_confirmed)
    if arena_confirmed:
        margin_text, basis = "device-confirmed", "measured on device"
    elif arena_lower_bound:
        margin_text = "lower bound: kernel scratch not modelled, +10 % (min 1 KiB)"
        basis = "estimated (lower bound)"
    elif arena_estimated:
        margin_text, basis = "estimated for another build, +10 % (min 1 KiB)", "estimated"
    else:
        margin_text, basis = "computed, +10 % (min 1 KiB)", "computed"
    lines = [
        BudgetLine(f"tensor arena ({margin_text}, whole KiB)", reserved, basis),
        BudgetLine("input buffer (application copy)", input_bytes, "computed"),
        BudgetLine("output buffer (application copy)", output_bytes, "computed"),
        BudgetLine("stack (inference task)", board.stack_bytes, _basis(board, "stack_bytes")),
        BudgetLine("system / RTOS objects", board.system_bytes, _basis(board, "system_bytes")),
    ]
    if wifi:
        lines.append(BudgetLine("Wi-Fi stack", board.wifi_bytes, _basis(board, "wifi_bytes")))
    if ble:
        lines.append(BudgetLine("BLE stack", board.ble_bytes, _basis(board, "ble_bytes")))
    budget = Budget(
        memory="sram",
        capacity_bytes=board.usable_sram_bytes,
        capacity_basis=_basis(board, "usable_sram_bytes"),
        lines=tuple(lines),
    )
    return Budget(**{**budget.__dict__, "note": _psram_note(board, budget, reserved)})


def _psram_note(board: Board, budget: Budget, arena: int) -> str:
    if not board.psram_bytes:
        return "This board has no PSRAM; the arena must fit in internal SRAM."
    without = budget.demand_bytes - arena
    moved = verdict(without, budget.capacity_bytes)
    if board.family != "Espressif":
        return _external_ram_note(board, budget, arena, without, moved)
    where = f"{board.psram_bytes // (1024 * 1024)} MiB PSRAM"
    if budget.verdict == "OK":
        return (
            f"The arena fits in internal SRAM; keep it there. It could move to the {where} "
            "(heap_caps_malloc with MALLOC_CAP_SPIRAM), but every activation access that misses "
            "the cache then goes over the SPI bus, which makes inference slower."
        )
    return (
        f"The arena ({arena:,} bytes) could live in the {where} instead "
        "(heap_caps_malloc with MALLOC_CAP_SPIRAM): internal SRAM demand would drop to "
        f"{without:,} bytes ({moved}). The cost: activations are read and written through the "
        "cache over the SPI bus, several times slower than internal SRAM on a miss, so expect "
        "slower inference and measure it."
    )


def _external_ram_note(board: Board, budget: Budget, arena: int, without: int, moved: str) -> str:
    where = f"{board.psram_bytes // (1024 * 1024)} MiB of external RAM"
    if budget.verdict == "OK":
        return (
            f"The arena fits in internal SRAM; keep it there. It could move to the board's {where} "
            "(a linker section or an allocator on the external memory bus), at the cost of "
            "slower activation accesses."
        )
    return (
        f"The arena ({arena:,} bytes) could live in the board's {where} instead (a linker "
        f"section on the external memory bus): internal SRAM demand would drop to {without:,} "
        f"bytes ({moved}). External RAM is slower than internal SRAM; measure the inference time."
    )


def flash_budget(board: Board, model_bytes: int, op_types: tuple[str, ...]) -> Budget:
    """Budget the board's app partition: model, TFLM runtime and kernels, application."""
    lines = [
        BudgetLine("model (.tflite as a C array)", model_bytes, "measured on host (file bytes)"),
        BudgetLine("TFLM runtime core", RUNTIME_FLASH_BYTES, "estimated (i386 -Os .text)"),
    ]
    for op in op_types:
        if op in KERNEL_FLASH_BYTES:
            lines.append(
                BudgetLine(f"kernel {op}", KERNEL_FLASH_BYTES[op], "estimated (i386 -Os .text)")
            )
        else:
            lines.append(
                BudgetLine(f"kernel {op}", UNKNOWN_KERNEL_FLASH_BYTES, "estimated (no measurement)")
            )
    lines.append(
        BudgetLine(
            "application and framework",
            board.application_flash_bytes,
            _basis(board, "application_flash_bytes"),
        )
    )
    return Budget(
        memory="flash",
        capacity_bytes=board.app_partition_bytes,
        capacity_basis=_basis(board, "app_partition_bytes"),
        lines=tuple(lines),
        note="Kernel and runtime sizes are i386 code sizes used as a proxy; ESP-NN's optimized "
        "kernels add their own code on ESP32 targets. Check against your linker map.",
    )
