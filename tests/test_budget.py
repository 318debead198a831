"""Boards and budgets: data files load with sources, margins and verdicts follow the policy."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tinyreport.analysis.boards import (
    KERNEL_LIBRARIES,
    _problems,
    all_boards,
    board_ids,
    load_board,
)
from tinyreport.analysis.budget import (
    EXCEEDED_ABOVE_PC,
    TIGHT_ABOVE_PC,
    Budget,
    BudgetLine,
    arena_with_margin,
    flash_budget,
    sram_budget,
    verdict,
)
from tinyreport.errors import ConfigError

BOARDS = board_ids()
FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"
# The boards issue 13 names, by the id each has here.
NAMED = {
    "esp32", "esp32-s2", "esp32-s3-devkitc", "esp32-c3", "esp32-c6", "esp32-p4", "esp32-cam",
    "esp8266", "m5stack-core2", "xiao-esp32s3", "xiao-esp32c3", "raspberry-pi-pico",
    "raspberry-pi-pico-w", "raspberry-pi-pico2", "teensy40", "teensy41", "stm32f103-bluepill",
    "stm32f411-blackpill", "stm32f407-discovery", "stm32f4", "stm32f746-discovery",
    "stm32h743-nucleo", "arduino-portenta-h7", "arduino-uno-r4", "arduino-nano-33-ble",
    "arduino-nano-33-iot", "arduino-uno", "arduino-mega", "wio-terminal", "xiao-nrf52840",
    "microbit-v2", "nrf52832-dk", "sparkfun-edge",
}  # fmt: skip


def test_bundled_boards():
    assert len(BOARDS) >= 31
    assert NAMED <= set(BOARDS), NAMED - set(BOARDS)
    # all_boards() groups by family, smallest usable SRAM first within a family.
    ordered = all_boards()
    assert [b.id for b in ordered] != BOARDS and sorted(b.id for b in ordered) == BOARDS
    keys = [(b.family, b.usable_sram_bytes) for b in ordered]
    assert keys == sorted(keys)


@pytest.mark.parametrize("board_id", BOARDS)
def test_every_board_loads_and_cites_its_memories(board_id):
    board = load_board(board_id)
    assert board.usable_sram_bytes < board.sram_bytes
    assert board.app_partition_bytes <= board.flash_bytes
    assert board.kernel_library in KERNEL_LIBRARIES
    for key in ("sram_bytes", "flash_bytes", "cpu_mhz"):
        assert board.source(key) and not board.is_estimate(key), key
        assert board.url(key).startswith("https://"), key
    if board.psram_bytes:
        assert board.source("psram_bytes") and board.url("psram_bytes").startswith("https://")
    # How the usable figure was obtained: an estimate says so and says on what it rests.
    usable = board.source("usable_sram_bytes")
    assert usable.startswith("estimate: ") and len(usable) > len("estimate: ") + 20, usable
    assert all(url.startswith("https://") and " " not in url for _, url in board.urls)
    assert 1 <= board.cpu_mhz <= 1000 and board.pointer_bytes in (2, 4)


def test_board_file_problems_are_reported_together():
    """A board file with several mistakes names each of them, with its key."""
    problems = _problems(
        {
            "name": "x",
            "family": "",
            "mcu": "m",
            "core": "c",
            "kernels": "k",
            "kernel_library": "XNNPACK",
            "arena_profile": "ref32",
            "cpu_mhz": 100,
            "pointer_bytes": 4,
            "sram_bytes": 1000,
            "psram_bytes": 0,
            "flash_bytes": 1000,
            "app_partition_bytes": 2000,
            "budget": {k: 0 for k in ("stack_bytes", "system_bytes", "wifi_bytes", "ble_bytes")}
            | {"usable_sram_bytes": 2000, "application_flash_bytes": -1},
            "sources": {"sram_bytes": "datasheet", "usable_sram_bytes": "guess"},
            "urls": {"sram_bytes": "http://example.com", "flash_bytes": "https://a b"},
        }
    )
    text = "; ".join(problems)
    for fragment in (
        "'family' must be a non-empty string",
        "'application_flash_bytes' must be a whole number",
        "'flash_bytes' has no source",
        "'cpu_mhz' has no source",
        "'sram_bytes' has no https:// document",
        "'urls.flash_bytes' must be one https:// address",
        "'usable_sram_bytes' must start with 'estimate' or 'measured'",
        "'kernel_library' must be one of ESP-NN, CMSIS-NN, reference",
        "'usable_sram_bytes' must not exceed 'sram_bytes'",
        "'app_partition_bytes' must not exceed 'flash_bytes'",
    ):
        assert fragment in text, fragment
    # The ten above, plus: 'app_partition_bytes' has no source, 'cpu_mhz' has no document, and
    # 'urls.sram_bytes' (http://) is not an https:// address.
    assert len(problems) == 13, problems


def test_boards_without_a_tflm_port_say_why():
    avr = [b for b in all_boards() if not b.tflm_supported]
    assert sorted(b.id for b in avr) == ["arduino-mega", "arduino-uno"]
    for b in avr:
        assert b.pointer_bytes == 2 and "AVR" in b.arena_note


def test_xiao_esp32s3_facts():
    board = load_board("xiao-esp32s3")
    assert (board.sram_bytes, board.psram_bytes, board.flash_bytes) == (512 << 10, 8 << 20, 8 << 20)
    assert board.cpu_mhz == 240
    assert board.arena_profile == "esp32s3"
    assert board.kernel_scratch_modelled
    for key in ("usable_sram_bytes", "system_bytes", "application_flash_bytes"):
        assert board.is_estimate(key), key


def _firmware_app_partition_bytes() -> int:
    """Size of the app partition in firmware/partitions.csv (the only one the table has)."""
    rows = [
        [c.strip() for c in line.split(",")]
        for line in (FIRMWARE / "partitions.csv").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    (size,) = [int(r[4], 0) for r in rows if r[1] == "app"]
    return size


def _firmware_sdkconfig(key: str) -> str:
    text = (FIRMWARE / "sdkconfig.defaults").read_text()
    return re.search(rf"^{key}=(.*)$", text, re.M)[1]


def test_xiao_budget_describes_the_firmware_this_project_ships():
    """The XIAO's app partition and stack are those of firmware/, and say so in their source."""
    board = load_board("xiao-esp32s3")
    assert board.app_partition_bytes == _firmware_app_partition_bytes() == 0x400000
    assert not board.is_estimate("app_partition_bytes")
    assert board.source("app_partition_bytes").startswith("firmware/partitions.csv")
    # The interpreter runs on the main task (firmware/main/main.cc: app_main).
    assert board.stack_bytes == int(_firmware_sdkconfig("CONFIG_ESP_MAIN_TASK_STACK_SIZE"))
    assert not board.is_estimate("stack_bytes")
    assert board.source("stack_bytes").startswith("firmware/sdkconfig.defaults")
    assert "app_main" in (FIRMWARE / "main" / "main.cc").read_text()
    # No Arduino-ESP32 left in an ESP-IDF firmware's budget.
    assert not [k for k, v in board.sources if "arduino" in v.lower()]
    # The estimates say what they rest on: ESP-IDF on an ESP32-S3.
    assert "ESP-IDF" in board.source("usable_sram_bytes")
    assert "esp-tflite-micro" in board.source("application_flash_bytes")


@pytest.mark.parametrize("board_id", BOARDS)
def test_boards_with_optimized_kernels_say_their_arena_is_a_lower_bound(board_id):
    """CMSIS-NN requests scratch buffers the ref32 profile does not plan; ESP-NN's are planned
    by the esp32 (generic ESP-NN) and esp32s3 profiles."""
    board = load_board(board_id)
    optimized = board.kernel_library != "reference"
    assert optimized == ("CMSIS-NN" in board.kernels or "ESP-NN" in board.kernels)
    esp_nn_profile = board.arena_profile in ("esp32", "esp32s3")
    assert board.kernel_scratch_modelled == (not optimized or esp_nn_profile)
    if not board.kernel_scratch_modelled:
        line = sram_budget(board, 4380, 784, 10, arena_lower_bound=True).lines[0]
        assert "lower bound" in line.what and line.basis == "estimated (lower bound)"


def test_unknown_board_names_the_known_ones():
    with pytest.raises(
        ConfigError, match="Unknown board 'uno'; choose one of: arduino-mega, arduino-nano"
    ):
        load_board("uno")


@pytest.mark.parametrize(
    ("arena", "confirmed", "reserved"),
    [
        (4380, False, 6144),  # +1 KiB minimum margin -> 5404 -> 6 KiB
        (29144, False, 32768),  # +10 % = 2915 -> 32059 -> 32 KiB
        (4380, True, 5120),  # confirmed: only rounded up to a whole KiB
        (10240, True, 10240),
    ],
)
def test_arena_margin_policy(arena, confirmed, reserved):
    assert arena_with_margin(arena, confirmed) == reserved


@pytest.mark.parametrize(
    ("demand", "capacity", "expected"),
    [(100, 1000, "OK"), (900, 1000, "OK"), (901, 1000, "TIGHT"), (1000, 1000, "TIGHT"),
     (1001, 1000, "EXCEEDED")],
)  # fmt: skip
def test_verdict_thresholds(demand, capacity, expected):
    assert verdict(demand, capacity) == expected


def test_verdict_thresholds_in_percent_match_the_verdicts():
    """Pages and charts use TIGHT_ABOVE_PC / EXCEEDED_ABOVE_PC; they must be verdict()'s."""
    assert (TIGHT_ABOVE_PC, EXCEEDED_ABOVE_PC) == (90.0, 100.0)
    capacity = 100_000
    for pc in (0, 50, 89.999, 90, 90.001, 99.999, 100, 100.001, 150):
        demand = round(pc * capacity / 100)
        share = 100 * demand / capacity
        expected = (
            "EXCEEDED" if share > EXCEEDED_ABOVE_PC else "TIGHT" if share > TIGHT_ABOVE_PC else "OK"
        )
        assert verdict(demand, capacity) == expected, pc


def test_budget_arithmetic():
    b = Budget("sram", 1000, "x", (BudgetLine("a", 300, "computed"), BudgetLine("b", 450, "e")))
    assert (b.demand_bytes, b.headroom_bytes, b.pc_headroom, b.verdict) == (750, 250, 25.0, "OK")
    assert b.to_dict()["lines"][1] == {"what": "b", "bytes": 450, "basis": "e"}


def test_sram_budget_for_the_int8_mlp_on_the_xiao():
    board = load_board("xiao-esp32s3")
    b = sram_budget(board, 4380, 784, 10)
    lines = {line.what.split(" (")[0]: line.n_bytes for line in b.lines}
    assert lines == {
        "tensor arena": 6144,
        "input buffer": 784,
        "output buffer": 10,
        "stack": 16384,
        "system / RTOS objects": 16384,
    }
    assert b.demand_bytes == 6144 + 784 + 10 + 16384 + 16384
    assert b.headroom_bytes == board.usable_sram_bytes - b.demand_bytes
    assert b.verdict == "OK"
    assert "keep it there" in b.note


def test_wifi_and_ble_lines_are_added_on_request():
    # The bundled boards budget no radio (0 B), so give this one a Wi-Fi and a BLE stack.
    board = dataclasses.replace(load_board("xiao-esp32s3"), wifi_bytes=56_320, ble_bytes=40_960)
    plain = sram_budget(board, 4380, 784, 10)
    wifi = sram_budget(board, 4380, 784, 10, wifi=True)
    radio = sram_budget(board, 4380, 784, 10, wifi=True, ble=True)
    assert wifi.demand_bytes - plain.demand_bytes == 56_320
    assert radio.demand_bytes - plain.demand_bytes == 97_280
    assert len(radio.lines) == len(plain.lines) + 2
    assert [line.n_bytes for line in radio.lines[-2:]] == [56_320, 40_960]


def test_an_arena_too_big_for_sram_points_at_psram():
    board = load_board("xiao-esp32s3")
    b = sram_budget(board, 400_000, 784, 10)
    assert b.verdict == "EXCEEDED"
    assert b.headroom_bytes < 0
    assert "could live in the 8 MiB PSRAM" in b.note
    assert "(OK)" in b.note  # without the arena the rest fits


def test_board_without_psram_says_so():
    b = sram_budget(load_board("stm32f4"), 400_000, 784, 10)
    assert b.verdict == "EXCEEDED"
    assert "no PSRAM" in b.note


def test_flash_budget_lines_and_unknown_kernels():
    board = load_board("xiao-esp32s3")
    b = flash_budget(board, 118_344, ("FULLY_CONNECTED", "SOFTMAX", "TANH"))
    whats = [line.what for line in b.lines]
    assert whats == [
        "model (.tflite as a C array)",
        "TFLM runtime core",
        "kernel FULLY_CONNECTED",
        "kernel SOFTMAX",
        "kernel TANH",
        "application and framework",
    ]
    assert b.lines[4].basis == "estimated (no measurement)"
    # A file's size is measured on the host, as the pages label file sizes everywhere.
    assert b.lines[0].basis == "measured on host (file bytes)"
    assert b.capacity_bytes == board.app_partition_bytes
    assert b.verdict == "OK"


def test_model_larger_than_the_partition():
    b = flash_budget(load_board("raspberry-pi-pico"), 3_000_000, ("FULLY_CONNECTED",))
    assert b.verdict == "EXCEEDED"
