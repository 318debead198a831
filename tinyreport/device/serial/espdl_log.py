"""Read what ESP-DL's profilers print on the board: `Model::profile_memory()` (internal RAM,
PSRAM and flash per part of the model) and `Model::profile_module()` (latency per module).

The formats are esp-dl's own (`esp-dl/dl/model/src/dl_model_base.cpp`, espressif/esp-dl): a
line `model:NAME, version:N`, then a table titled `memory summary` with rows `fbs_model`,
`tensors`, `others`, `total` and columns internal RAM / PSRAM / FLASH in `%.2fKB`, or a table
titled `module summary` with rows `| name | type | 123us |` (or `cycle` when esp-dl is built
with DL_LOG_LATENCY_UNIT) ending in a `total` row. Each line may carry ESP-IDF's log prefix
(`I (1234) dl::Model: `) and colour codes. tinyreport names the .espdl graph after the model,
so NAME is the model's name in tinyreport.toml.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PREFIX = re.compile(r"^(?:\x1b\[[0-9;]*m)?(?:[IWEDV] \(\d+\) \S+?: )?")
_MODEL = re.compile(r"model:(?P<name>[^,\s]+), version:(?P<version>-?\d+)")
_ROW = re.compile(r"^\|(?P<cells>.*)\|\s*(?:\x1b\[0m)?$")
_KB = re.compile(r"^(?P<kb>\d+(?:\.\d+)?)KB$")
_LATENCY = re.compile(r"^(?P<n>\d+)(?P<unit>us|cycle)$")


def _cells(line: str) -> list[str] | None:
    match = _ROW.match(line)
    return [c.strip() for c in match.group("cells").split("|")] if match else None


def parse_espdl_profiles(lines: Iterable[str]) -> list[dict]:
    """Every ESP-DL memory or module summary in a log, in order, with the model it follows.

    Each entry: {"model", "version", "table": "memory" | "module", "line", and for memory
    "rows": {part: {"internal_bytes", "psram_bytes", "flash_bytes"}}, for modules
    "modules": [{"name", "type", "latency"}], "total_latency", "unit"}. Sizes are whole bytes
    as printed (KB with two decimals, so within 5 bytes of the board's count).
    """
    out: list[dict] = []
    model = version = None
    current: dict | None = None
    for number, raw in enumerate(lines, start=1):
        line = _PREFIX.sub("", raw.rstrip("\r\n"))
        found = _MODEL.search(line)
        if found:
            model, version = found["name"], int(found["version"])
            current = None
            continue
        cells = _cells(line)
        if cells is None:
            continue
        if len(cells) == 1 and cells[0] in ("memory summary", "module summary"):
            current = {
                "model": model,
                "version": version,
                "table": cells[0].split()[0],
                "line": number,
            }
            current |= {"rows": {}} if current["table"] == "memory" else {"modules": []}
            out.append(current)
            continue
        if current is None:
            continue
        if current["table"] == "memory" and len(cells) == 4:
            sizes = [_KB.match(c) for c in cells[1:]]
            if all(sizes):
                kb = [round(float(s["kb"]) * 1024) for s in sizes]
                current["rows"][cells[0]] = dict(
                    zip(("internal_bytes", "psram_bytes", "flash_bytes"), kb, strict=True)
                )
        elif current["table"] == "module" and len(cells) == 3:
            latency = _LATENCY.match(cells[2])
            if latency:
                value, unit = int(latency["n"]), latency["unit"]
                if cells[0] == "total":
                    current["total_latency"], current["unit"] = value, unit
                else:
                    current["modules"].append(
                        {"name": cells[0], "type": cells[1], "latency": value, "unit": unit}
                    )
    return out


def espdl_device_figures(profiles: list[dict], log: str) -> dict[str, dict]:
    """The last memory and module summaries per model, as measured-on-device figures."""
    out: dict[str, dict] = {}
    for entry in profiles:
        if entry["model"] is None:
            continue
        figures = out.setdefault(entry["model"], {"log": log, "provenance": "measured-device"})
        if entry["table"] == "memory" and "total" in entry["rows"]:
            figures["memory"] = entry["rows"]
            figures["memory_line"] = entry["line"]
        elif entry["table"] == "module" and "total_latency" in entry:
            figures["latency"] = entry["total_latency"]
            figures["latency_unit"] = entry["unit"]
            figures["modules"] = entry["modules"]
            figures["latency_line"] = entry["line"]
    return out
