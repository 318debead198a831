"""Turn parsed device logs into device runs: one per model per boot, with statistics.

`ingest_logs()` is what the collector calls; the layout of what it returns is documented in
``docs/reference/protocol.md`` ("Ingested data"), and ``RUN_FORMAT`` numbers it.
"""

from __future__ import annotations

import bisect
import json
import math
import operator
import os
import stat
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path

import orjson

from tinyreport.device.serial.parse import (
    CONFIDENCE_ORDER,
    FMT_TINYREPORT,
    Boot,
    ParsedLog,
    Problem,
    Record,
    UserPattern,
    gc_paused,
    parse_stream,
)
from tinyreport.errors import LogFormatError
from tinyreport.fsutil import reason

# Layout history of a run dict (bump when a key changes meaning or goes away):
# 1: first layout.
# 2: `samples_us` is gone (the samples stay in the log; `latency` summarises them, with a
#    histogram); ticks-only latency gives median/min/max instead of the list; `source.offsets`
#    is replaced by `source.n_lines`; at most MAX_PROBLEMS problems per boot.
RUN_FORMAT = 2

# Told how far the reading of a log has got: name, bytes read, size (None: not a regular file).
ByteProgress = Callable[[str, int, int | None], None]

MEASURED_DEVICE = "measured-device"
SIMULATED = "simulated"

# Records that belong to the whole boot, not to one model.
_BOOT_WIDE = ("boot", "done")


def _dump(run: dict) -> bytes:
    """Return a run as compact JSON with sorted keys (NaN and infinities as null)."""
    try:
        return orjson.dumps(run, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, printed by a strange firmware
        cleaned = json.loads(json.dumps(run, default=str), parse_constant=lambda _: None)
        return json.dumps(cleaned, sort_keys=True, separators=(",", ":")).encode()


# Runs of a log are kept in memory up to this many bytes of JSON, then in a temporary file.
_RUNS_IN_MEMORY = 8 << 20


class Runs(Sequence[dict]):
    """The runs of a log, each kept as its JSON text: a big log gives tens of thousands.

    The texts go to a temporary file once they pass a few MB, so memory does not grow with
    the number of runs. Reading one gives a new dict (changing it changes nothing here);
    `change()` rewrites one.
    """

    def __init__(self, runs: Iterable[dict] = ()) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=_RUNS_IN_MEMORY)  # noqa: SIM115
        self._starts = array("q")
        self._sizes = array("q")
        self._end = 0
        self.extend(runs)

    def _write(self, text: bytes) -> int:
        start = self._end
        self._file.seek(start)
        self._file.write(text)
        self._end += len(text)
        return start

    def append(self, run: dict) -> None:
        text = _dump(run)
        self._starts.append(self._write(text))
        self._sizes.append(len(text))

    def extend(self, runs: Iterable[dict]) -> None:
        for run in runs:
            self.append(run)

    def change(self, index: int, edit: Callable[[dict], None]) -> None:
        run = self[index]
        edit(run)
        text = _dump(run)
        self._starts[index] = self._write(text)  # the old text stays, unread
        self._sizes[index] = len(text)

    def _text(self, index: int) -> bytes:
        self._file.seek(self._starts[index])
        return self._file.read(self._sizes[index])

    def json_texts(self) -> Iterator[bytes]:
        return map(self._text, range(len(self)))

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [orjson.loads(self._text(i)) for i in range(len(self))[index]]
        return orjson.loads(self._text(range(len(self))[index]))

    def __iter__(self) -> Iterator[dict]:
        return (orjson.loads(text) for text in self.json_texts())


@dataclass
class LogReport:
    """What one log gave: its runs, and the problems that are not about any one run."""

    path: str
    runs: Runs = field(default_factory=Runs)
    problems: list[str] = field(default_factory=list)
    n_records: int = 0
    n_boots: int = 0
    n_folded: int = 0  # runs that repeat a run of an earlier log (kept there, in also_in)


def percentile(sorted_values: list[float], q: float) -> float:
    """Return the q-th percentile (0..100) by linear interpolation, as numpy's default."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


HISTOGRAM_BINS = 20


def histogram(sorted_values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, list]:
    """Return ``bins`` equal-width bins from the smallest to the largest value.

    ``edges`` has bins + 1 ascending values; bin k counts the values v with
    edges[k] <= v < edges[k + 1], the last bin also those equal to its right edge. When all
    values are equal there is one bin, [v, v].
    """
    lo, hi = sorted_values[0], sorted_values[-1]
    if lo == hi:
        return {"edges": [lo, hi], "counts": [len(sorted_values)]}
    width = (hi - lo) / bins
    edges = [lo + k * width for k in range(bins)] + [hi]
    cuts = [bisect.bisect_left(sorted_values, edge) for edge in edges[1:-1]]
    bounds = [0, *cuts, len(sorted_values)]
    return {"edges": edges, "counts": [b - a for a, b in zip(bounds, bounds[1:], strict=False)]}


def latency_stats(samples_us: list[float]) -> dict[str, object]:
    """Return count, mean, median, p90, p99, min, max, sample std and a histogram, in µs."""
    values = sorted(map(float, samples_us))
    n = len(values)
    mean = sum(values) / n
    # The squared deviations summed in order, as sum((v - mean) ** 2 ...), without a loop in
    # Python: big logs hold millions of samples.
    squares = map(pow, map(operator.sub, values, repeat(mean)), repeat(2))
    std = math.sqrt(sum(squares) / (n - 1)) if n > 1 else 0.0
    hist = histogram(values)
    return {
        "from": "samples",
        "n": n,
        "mean_us": mean,
        "median_us": percentile(values, 50),
        "p90_us": percentile(values, 90),
        "p99_us": percentile(values, 99),
        "min_us": values[0],
        "max_us": values[-1],
        "std_us": std,
        "histogram": {"edges_us": hist["edges"], "counts": hist["counts"]},
    }


def ticks_stats(ticks: list[int]) -> dict[str, object]:
    """Return count, median, min and max of timings an old format gives in ticks only."""
    values = sorted(ticks)
    return {
        "from": "ticks",
        "n": len(values),
        "median_ticks": percentile(values, 50),
        "min_ticks": values[0],
        "max_ticks": values[-1],
    }


def _where(problem: Problem, path: str) -> str:
    return f"{path}:{problem.line} (byte {problem.offset}): {problem.message}"


class _Run:
    """A run being assembled from records."""

    def __init__(self, model_id: str | None, name: str | None) -> None:
        self.model_id = model_id
        self.log_name = name
        self.records: list[Record] = []
        self.finished = False  # a later model or the done record followed it

    def add(self, rec: Record) -> None:
        self.records.append(rec)


def _split_runs(boot: Boot) -> tuple[list[_Run], list[Record]]:
    """Group a boot's records by model; return the runs and the boot-wide records."""
    runs: dict[str, _Run] = {}
    order: list[_Run] = []
    wide: list[Record] = []
    legacy_current: _Run | None = None
    previous: _Run | None = None

    def run_for(key: str, model_id: str | None, name: str | None) -> _Run:
        run = runs.get(key)
        if run is None:
            run = runs[key] = _Run(model_id, name)
            order.append(run)
        return run

    for rec in boot.records:
        kind, fields, source = rec.kind, rec.fields, rec.source
        if source.fmt == FMT_TINYREPORT:
            model_id = fields.get("id")
            if model_id is None or kind in _BOOT_WIDE:
                if kind == "done" and previous is not None:
                    previous.finished = True
                wide.append(rec)
                continue
            run = runs.get(model_id)  # type: ignore[arg-type]
            if run is None:
                run = run_for(model_id, model_id, None)  # type: ignore[arg-type]
            if kind == "model":
                run.log_name = str(fields["name"])
                if previous is not None and previous is not run:
                    previous.finished = True
                previous = run
            run.records.append(rec)
            continue
        # Old-format lines printed during a protocol model's run belong to it (e.g. the
        # firmware also calls MicroProfiler::Log()).
        if previous is not None and not previous.finished and rec.kind != "model_name":
            previous.add(rec)
            continue
        # Old formats name no model id: a model name starts a run, else one run takes all.
        if rec.kind == "model_name":
            legacy_current = run_for("name:" + str(rec.fields["name"]), None, None)
            legacy_current.log_name = str(rec.fields["name"])
            continue
        if legacy_current is None:
            legacy_current = run_for("anon", None, None)
        legacy_current.add(rec)
    # Old formats often print the model's name after its first figures (ESP-DL tests before it
    # profiles): with one named model in the boot, its unnamed figures are its own.
    anon = runs.get("anon")
    named = [r for key, r in runs.items() if key.startswith("name:")]
    if anon is not None and len(named) == 1:
        named[0].records = sorted(
            anon.records + named[0].records, key=lambda r: (r.source.offset, r.source.line)
        )
        order.remove(anon)
    return order, wide


_PLACE = operator.attrgetter("source.offset", "source.line")


def _lowest(confidences: Iterable[str]) -> str:
    return max(confidences, key=CONFIDENCE_ORDER.index)


def _build_run(
    run: _Run,
    wide: list[Record],
    boot: Boot,
    path: str,
    known_models: Mapping[str, str],
    boot_problems: list[str],
) -> dict:
    records = sorted(run.records + wide, key=_PLACE) if wide else run.records
    protocol_run = any(r.source.fmt == FMT_TINYREPORT for r in run.records)
    if protocol_run and not all(r.source.fmt == FMT_TINYREPORT for r in records):
        # Where the firmware's own records say something, old-format lines do not override it.
        ours = {r.kind for r in records if r.source.fmt == FMT_TINYREPORT}
        records = [r for r in records if r.source.fmt == FMT_TINYREPORT or r.kind not in ours]
    by_kind: dict[str, list[Record]] = {}
    for rec in records:
        by_kind.setdefault(rec.kind, []).append(rec)
    problems = list(boot_problems)

    board = None
    boot_recs = [r for r in by_kind.get("boot", []) if r.source.fmt == FMT_TINYREPORT]
    if boot_recs:
        board = {k: v for k, v in boot_recs[0].fields.items() if k != "seq"}
    provenance = SIMULATED if board and board.get("sim") else MEASURED_DEVICE

    # Model identity.
    model_id = run.model_id
    attribution = "id" if model_id else "none"
    model_name = known_models.get(model_id) if model_id else None
    if model_id is None and run.log_name:
        matches = [mid for mid, name in known_models.items() if name == run.log_name]
        if len(matches) == 1:
            model_id, model_name, attribution = matches[0], run.log_name, "name"
    model_known = model_id is not None and model_id in known_models
    if model_name is None:
        model_name = run.log_name
    if run.model_id and known_models and not model_known:
        problems.append(
            f"model {run.model_id[:12]}… ({run.log_name or 'no name'}) is not one of the "
            f"{len(known_models)} known models; its run is not attached to any model"
        )

    # Arena.
    arena: dict[str, object] | None = None
    allocs = by_kind.get("alloc", [])
    given = next(
        (r.fields["arena_given_bytes"] for r in records if "arena_given_bytes" in r.fields), None
    )
    if allocs or given is not None:
        last = allocs[-1].fields if allocs else {}
        arena = {
            "status": last.get("status"),
            "given_bytes": last.get("arena_given_bytes", given),
            "used_bytes": last.get("arena_used_bytes"),
            "needed_bytes": last.get("arena_needed_bytes"),
        }
        missing = [
            r.fields["arena_missing_bytes"] for r in allocs if "arena_missing_bytes" in r.fields
        ]
        if missing:
            arena["missing_bytes"] = max(missing)  # type: ignore[type-var]
        for part in by_kind.get("alloc_part", []):
            arena[f"{part.fields['part']}_bytes"] = part.fields["bytes"]

    heap = [
        {k: v for k, v in r.fields.items() if k not in ("seq", "id")}
        for r in by_kind.get("heap", [])
    ]
    warmups = by_kind.get("warmup", [])
    n_warmup = warmups[-1].fields["n"] if warmups else None

    # Latency: samples in index order, or the device's own summary.
    samples: list[float] = []
    ticks: list[int] = []
    lat_recs = by_kind.get("lat", [])
    if protocol_run:
        lat_recs = sorted(lat_recs, key=lambda r: int(r.fields.get("i") or 0))
        expected = 0
        for rec in lat_recs:
            start = rec.fields.get("i")
            if isinstance(start, int) and start != expected:
                problems.append(
                    f"latency samples {expected}..{start - 1} are missing (a lat record was lost)"
                    if start > expected
                    else f"latency samples from {start} overlap earlier ones"
                )
            values = list(rec.fields.get("us") or [])
            samples.extend(map(float, values))
            expected = (start if isinstance(start, int) else expected) + len(values)
    else:
        for rec in lat_recs:
            samples.extend(map(float, rec.fields.get("us") or []))
            ticks.extend(map(int, rec.fields.get("ticks") or []))
    latency: dict[str, object] | None = None
    if samples:
        latency = latency_stats(samples)
    elif by_kind.get("latsum"):
        f = by_kind["latsum"][-1].fields
        latency = {
            "from": "device-summary",
            "n": f["n"],
            "mean_us": float(f["mean_us"]),
            "median_us": float(f["median_us"]) if "median_us" in f else None,
            "p90_us": None,
            "p99_us": None,
            "min_us": float(f["min_us"]),
            "max_us": float(f["max_us"]),
            "std_us": float(f["std_us"]) if "std_us" in f else None,
        }
    elif ticks:
        latency = ticks_stats(ticks)

    ops = []
    op_recs = by_kind.get("op", [])
    if any(not r.fields.get("per_tag") for r in op_recs):
        op_recs = [r for r in op_recs if not r.fields.get("per_tag")]  # per-tag sums repeat them
    for index, rec in enumerate(op_recs):
        f = rec.fields
        entry: dict[str, object] = {
            "index": f.get("i", index),
            "op": f.get("op"),
            "us": float(f["us"]) if "us" in f else None,
            "n": f.get("n"),
        }
        for extra in ("ticks", "name", "per_tag"):
            if extra in f:
                entry[extra] = f[extra]
        ops.append(entry)

    vectors = None
    vec_recs = by_kind.get("vec", [])
    if vec_recs:
        if protocol_run:
            f = vec_recs[-1].fields
            n, n_match = int(f["n"]), int(f["match"])  # type: ignore[arg-type]
            vectors = {
                "n": n,
                "n_match": n_match,
                "all_match": n_match == n,
                "max_abs_diff": f.get("max_abs_diff"),
                "tol": f.get("tol"),
                "unit": f.get("unit"),
                "n_top1": f.get("top1"),
            }
        else:
            n = sum(int(r.fields["n"]) for r in vec_recs)  # type: ignore[arg-type]
            n_match = sum(int(r.fields["match"]) for r in vec_recs)  # type: ignore[arg-type]
            vectors = {
                "n": n,
                "n_match": n_match,
                "all_match": n_match == n,
                "max_abs_diff": None,
                "tol": None,
                "unit": None,
                "n_top1": None,
            }

    own = {id(r) for r in run.records}
    for rec in by_kind.get("err", []):
        if id(rec) not in own:  # an error of the firmware, not of one model
            problems.append(
                f"{path}:{rec.source.line}: the firmware reported an error "
                f"({rec.fields.get('stage')}): {rec.fields.get('msg')}"
            )
    errors = [
        {"stage": r.fields.get("stage"), "msg": r.fields.get("msg"), "offset": r.source.offset}
        for r in by_kind.get("err", [])
        if id(r) in own
    ]

    if arena is not None and arena["status"] == "fail":
        status = "alloc_failed"
    elif not protocol_run:
        status = "unknown"
    elif errors:
        status = "error"
    elif not run.finished:
        status = "incomplete"
        problems.append("the run was cut short: the board reset or the log ends before it finished")
    else:
        status = "ok"

    used = [r for r in records if id(r) in own or r.kind in ("boot", "heap")]
    offsets = sorted({r.source.offset for r in used})
    formats = sorted({r.source.fmt for r in used})
    return {
        "format": RUN_FORMAT,
        "model_id": model_id,
        "model_name": model_name,
        "model_known": model_known,
        "attribution": attribution,
        "provenance": provenance,
        "status": status,
        "source": {
            "path": path,
            "boot": boot.index,
            "first_offset": offsets[0] if offsets else boot.offset,
            "last_offset": offsets[-1] if offsets else boot.offset,
            "n_lines": len(offsets),
            "formats": formats,
            "confidence": _lowest(r.source.confidence for r in used) if used else "low",
        },
        "board": board,
        "arena": arena,
        "heap": heap,
        "n_warmup": n_warmup,
        "latency": latency,
        "ops": ops,
        "vectors": vectors,
        "errors": errors,
        "problems": problems,
        "also_in": [],
    }


# Problems kept per boot: a boot of damaged lines must not make the results as big as its log.
MAX_PROBLEMS = 20


def _boot_problems(boot: Boot, path: str) -> list[str]:
    problems = [_where(p, path) for p in boot.problems[:MAX_PROBLEMS]]
    if len(boot.problems) > MAX_PROBLEMS:
        problems.append(
            f"{path}: boot {boot.index}: {len(boot.problems) - MAX_PROBLEMS} more problem(s) "
            f"like these (tinyreport keeps the first {MAX_PROBLEMS} of a boot)"
        )
    if boot.duplicates:
        problems.append(f"{path}: boot {boot.index}: {boot.duplicates} repeated record(s) ignored")
    return problems


def runs_from_boot(boot: Boot, path: str, known_models: Mapping[str, str]) -> list[dict]:
    """Build the runs of one boot of a log; [] when it holds none."""
    runs, wide = _split_runs(boot)
    problems = _boot_problems(boot, path)
    return [_build_run(run, wide, boot, path, known_models, problems) for run in runs]


def _add_boot(report: LogReport, boot: Boot, known_models: Mapping[str, str]) -> list[dict]:
    """Count a boot in the report; return its runs (its problems go to the report if none)."""
    report.n_boots += 1
    report.n_records += len(boot.records)
    runs = runs_from_boot(boot, report.path, known_models)
    if not runs:
        report.problems.extend(_boot_problems(boot, report.path))
    return runs


def runs_from_log(parsed: ParsedLog, known_models: Mapping[str, str]) -> LogReport:
    """Build the runs of one parsed log (no duplicate detection across logs here)."""
    report = LogReport(path=parsed.path)
    for boot in parsed.boots:
        report.runs.extend(_add_boot(report, boot, known_models))
    return report


def _dedupe_key(run: dict, boot: Boot) -> str:
    board = run.get("board") or {}
    if board.get("run"):
        return f"run:{board.get('fw')}:{board['run']}:{run['model_id']}"
    return f"fp:{boot.fingerprint()}:{run['model_id']}:{run['model_name']}"


def _display(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return Path(path).relative_to(relative_to).as_posix()
        except ValueError:
            pass
    return str(path)


# A log is read this many bytes at a time; memory holds one piece and the boots being read.
CHUNK_BYTES = 1 << 20
# Logs longer than this are refused (a day of back-to-back sessions on one board is a few MB);
# a device file or pipe is read up to it, so `ingest /dev/zero` ends.
MAX_LOG_BYTES = 1 << 30


def _too_long(name: str, regular: bool) -> LogFormatError:
    if not regular:  # a device or a pipe: /dev/zero never ends
        return LogFormatError(
            f"Stopped reading {name} after {MAX_LOG_BYTES >> 20:,} MiB, the most tinyreport "
            f"reads from one log; save the log to a file first (tinyreport capture does)."
        )
    return LogFormatError(
        f"{name} is longer than {MAX_LOG_BYTES >> 20:,} MiB, the most tinyreport reads "
        f"from one log; split it into smaller files."
    )


def _pieces(f, name: str, size: int | None, progress: ByteProgress | None) -> Iterator[bytes]:
    """Read a log file a piece at a time, at most MAX_LOG_BYTES; tell progress as it goes."""
    done = 0
    while True:
        try:
            piece = f.read(CHUNK_BYTES)
        except OSError as exc:
            raise LogFormatError(f"Cannot read log file {name}: {reason(exc)}.") from None
        if not piece:
            return
        done += len(piece)
        if done > MAX_LOG_BYTES:
            raise _too_long(name, size is not None)
        if progress is not None:
            progress(name, done, size)
        yield piece


def _open_log(path: Path, name: str):
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed by the caller)
    except FileNotFoundError:
        raise LogFormatError(f"Log file {name} does not exist.") from None
    except IsADirectoryError:
        raise LogFormatError(f"{name} is a folder; give the log files inside it.") from None
    except OSError as exc:
        raise LogFormatError(f"Cannot read log file {name}: {reason(exc)}.") from None
    if stat.S_ISDIR(os.fstat(f.fileno()).st_mode):
        f.close()
        raise LogFormatError(f"{name} is a folder; give the log files inside it.")
    return f


def _add_also_in(run: dict, where: dict) -> None:
    run["also_in"].append(where)


def ingest_reports(
    paths: list[Path],
    known_models: Mapping[str, str],
    relative_to: Path | None = None,
    progress: ByteProgress | None = None,
    patterns: tuple[UserPattern, ...] = (),
) -> list[LogReport]:
    """Read and parse every log, build runs, and fold duplicates into their first copy.

    Each log is read as a stream: memory holds a piece of it, the boots being read and the
    runs built so far (summaries, not samples). A log longer than MAX_LOG_BYTES raises
    LogFormatError. With ``relative_to``, logs inside that folder are named relative to it
    everywhere (report, runs, problems), so that what is stored does not depend on where the
    checkout is. ``progress(name, bytes_read, size)`` is told after every piece read (size is
    None for a device or a pipe).
    """
    reports: list[LogReport] = []
    first: dict[str, tuple[Runs, int]] = {}  # where the first copy of each run is
    for path in paths:
        name = _display(path, relative_to)
        with _open_log(Path(path), name) as f:
            info = os.fstat(f.fileno())
            size = info.st_size if stat.S_ISREG(info.st_mode) else None
            if size is not None and size > MAX_LOG_BYTES:
                raise _too_long(name, True)
            report = LogReport(path=name)
            for boot in parse_stream(_pieces(f, name, size, progress), name, patterns):
                with gc_paused():
                    runs = _add_boot(report, boot, known_models)
                    for run in runs:
                        key = _dedupe_key(run, boot)
                        original = first.get(key)
                        if original is None:
                            first[key] = (report.runs, len(report.runs))
                            report.runs.append(run)
                        else:
                            src = run["source"]
                            where = {"path": src["path"], "boot": src["boot"]}
                            edit = partial(_add_also_in, where=where)
                            original[0].change(original[1], edit)
                            report.n_folded += 1
        reports.append(report)
    return reports


def log_paths(logs_dir: Path) -> list[Path]:
    """Return the capture logs in a folder (``*.log``, any depth), in name order; [] if none."""
    if not logs_dir.is_dir():
        return []
    return sorted(p for p in logs_dir.rglob("*.log") if p.is_file())


def ingest_logs(paths: list[Path], known_models: dict[str, str]) -> list[dict]:
    """Return the device runs found in the logs, JSON-ready, duplicates folded.

    ``known_models`` maps a model's sha256 to its name. Runs of models that are not in it are
    returned too, with ``model_known`` false and a problem saying so; a log that cannot be read
    raises LogFormatError.
    """
    return [run for report in ingest_reports(paths, known_models) for run in report.runs]


# A flatbuffer's offsets are signed 32-bit: no .tflite file is bigger (TFLM could not load it).
MAX_MODEL_BYTES = 2**31 - 1


def known_models_from(paths: list[Path]) -> dict[str, str]:
    """Map the sha256 of every .tflite file given, or under a folder given, to a name.

    A file given itself is named by its stem; a file found under a folder by its path below
    it, with ``_`` for ``/`` (``artifacts/mlp/int8.tflite`` under ``artifacts`` is ``mlp_int8``).
    Folders whose names end in ``.tflite`` are searched like any folder, not read. Files are
    hashed a block at a time; one bigger than a flatbuffer can be is refused by its size.
    """
    import hashlib

    known: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(f for f in path.rglob("*.tflite") if not f.is_dir())
            names = ["_".join(f.relative_to(path).with_suffix("").parts) for f in files]
        else:
            files, names = [path], [path.stem]
        for file, name in zip(files, names, strict=True):
            try:
                with open(file, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    if size > MAX_MODEL_BYTES:
                        raise LogFormatError(
                            f"{file} is {size:,} bytes, more than a TFLite model can be (2 GiB); "
                            f"it is not a model, so --models cannot take it."
                        )
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
            except OSError as exc:
                raise LogFormatError(f"Cannot read model file {file}: {reason(exc)}.") from None
            known[digest] = name
    if paths and not known:
        raise LogFormatError(
            f"No .tflite files in {', '.join(str(p) for p in paths)}; point --models at them."
        )
    return known


def _fmt_us(value: object) -> str:
    return "-" if value is None else f"{float(value) / 1000:.3f} ms"  # type: ignore[arg-type]


def _fmt_bytes(value: object) -> str:
    return "-" if value is None else f"{int(value):,} B"  # type: ignore[call-overload]


def json_pieces(reports: list[LogReport]) -> Iterator[str]:
    """Yield the runs as one line of JSON with sorted keys (NaN and infinities as null).

    A piece at a time, so that printing them does not hold a second copy of them all.
    """
    yield "["
    sep = ""
    for report in reports:
        for text in report.runs.json_texts():
            yield sep + text.decode()
            sep = ","
    yield "]"


def render(reports: list[LogReport], as_json: bool = False, checked: bool = False) -> str:
    """Return the runs as JSON, or as a short text summary per run.

    ``checked`` says the runs were checked against known models (else none is called unknown).
    """
    if as_json:
        return "".join(json_pieces(reports))
    lines: list[str] = []
    for report in reports:
        lines.append(
            f"{report.path}: {report.n_boots} boot(s), {report.n_records} record(s), "
            f"{len(report.runs)} run(s)"
        )
        for run in report.runs:
            src = run["source"]
            name = run["model_name"] or "(unnamed model)"
            ident = run["model_id"][:12] + "…" if run["model_id"] else "no id"
            known = "" if run["model_known"] or not checked else ", not a known model"
            lines.append(
                f"  boot {src['boot']}: {name} [{ident}{known}] {run['status']}, "
                f"{run['provenance']}, {src['confidence']} confidence ({', '.join(src['formats'])})"
            )
            arena = run["arena"] or {}
            if arena:
                lines.append(
                    f"    arena: used {_fmt_bytes(arena.get('used_bytes'))} of "
                    f"{_fmt_bytes(arena.get('given_bytes'))}"
                    + (
                        f", needed {_fmt_bytes(arena['needed_bytes'])}"
                        if arena.get("needed_bytes")
                        else ""
                    )
                )
            lat = run["latency"]
            if lat and lat.get("from") != "ticks":
                lines.append(
                    f"    latency ({lat['n']} invokes, {lat['from']}): "
                    f"mean {_fmt_us(lat['mean_us'])}"
                    f", median {_fmt_us(lat['median_us'])}, p90 {_fmt_us(lat['p90_us'])}, "
                    f"p99 {_fmt_us(lat['p99_us'])}, min {_fmt_us(lat['min_us'])}, "
                    f"max {_fmt_us(lat['max_us'])}, std {_fmt_us(lat['std_us'])}"
                )
            for entry in run["heap"]:
                parts = [f"{k} {_fmt_bytes(v)}" for k, v in entry.items() if k.endswith("_bytes")]
                lines.append(
                    f"    heap{' ' + str(entry['at']) if 'at' in entry else ''}: "
                    + ", ".join(parts)
                )
            vec = run["vectors"]
            if vec:
                lines.append(f"    test vectors: {vec['n_match']}/{vec['n']} match")
            if run["ops"]:
                lines.append(f"    {len(run['ops'])} operator timing(s)")
            if run["also_in"]:
                where = ", ".join(f"{a['path']} boot {a['boot']}" for a in run["also_in"])
                lines.append(f"    same run also in: {where}")
    return "\n".join(lines)


def warnings(reports: list[LogReport]) -> list[str]:
    """Return every problem found, each once, in log order."""
    seen: dict[str, None] = {}
    for report in reports:
        for problem in report.problems:
            seen.setdefault(problem, None)
        for run in report.runs:
            for problem in run["problems"]:
                seen.setdefault(problem, None)
    return list(seen)


def gave_nothing(report: LogReport, reports: list[LogReport]) -> bool:
    """True when a log gave no run at all, not even one folded into another log's copy."""
    return not report.runs and not report.n_folded


def check(reports: list[LogReport], models_given: bool, strict: bool) -> None:
    """Raise LogFormatError when a log gave nothing usable (or any problem, when strict)."""
    for report in reports:
        usable = any(r["model_known"] or not models_given for r in report.runs)
        if gave_nothing(report, reports):
            if report.problems:
                raise LogFormatError(f"{report.path} holds no usable record: {report.problems[0]}")
            raise LogFormatError(
                f"{report.path} holds no device record tinyreport can read; is it a device log?"
            )
        if report.runs and not usable:
            ids = ", ".join(sorted({(r["model_id"] or "no id")[:12] for r in report.runs}))
            raise LogFormatError(
                f"{report.path} only holds runs of models that are not in --models ({ids}); "
                f"give the .tflite files it was made from."
            )
    if strict:
        problems = warnings(reports)
        if problems:
            raise LogFormatError(
                f"{len(problems)} problem(s) in the logs and --strict is on; the first: "
                f"{problems[0]}"
            )
