"""Capture from a fake board on a pseudo-terminal, then ingest what was captured."""

import errno
import os
import random
import sys
import threading
import time
import tty
from pathlib import Path

import pytest
import serial

from tinyreport.cli import main
from tinyreport.device.serial import capture as capture_mod
from tinyreport.device.serial.ingest import ingest_logs
from tinyreport.device.serial.parse import parse_log
from tinyreport.device.serial.protocol import format_record
from tinyreport.errors import OutputError, SerialError

CNN = "3f1c0a9e5b7d24c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f"
ROM = (
    b"ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\n"
    b"rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\nSaved PC:0x420521a6\r\n"
    b"SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fce2810,len:0x178c\r\nentry 0x403c8914\r\n"
)


def session(run: str, samples: list[int], finish: bool) -> list[bytes]:
    """The lines one boot of the firmware prints (records and ESP-IDF logs)."""
    recs = [
        (
            "boot",
            {
                "seq": 0,
                "run": run,
                "chip": "esp32s3",
                "rev": "0.2",
                "cores": 2,
                "cpu_mhz": 240,
                "flash_bytes": 8388608,
                "psram_bytes": 8388608,
                "idf": "v5.3.1",
                "fw": "tinyfw-test",
                "esp_nn": 1,
                "n_models": 1,
            },
        ),
        ("model", {"seq": 1, "id": CNN, "name": "cnn_int8", "arena_given_bytes": 65536}),
        (
            "alloc",
            {
                "seq": 2,
                "id": CNN,
                "status": "ok",
                "arena_given_bytes": 65536,
                "arena_used_bytes": 21452,
            },
        ),
        (
            "heap",
            {
                "seq": 3,
                "id": CNN,
                "at": "after_alloc",
                "free_internal_bytes": 285184,
                "free_psram_bytes": 8321024,
            },
        ),
        ("warmup", {"seq": 4, "id": CNN, "n": 3}),
        ("lat", {"seq": 5, "id": CNN, "i": 0, "us": samples}),
        ("vec", {"seq": 6, "id": CNN, "n": 10, "match": 10, "max_abs_diff": 0}),
        ("done", {"seq": 7, "n_models": 1, "n_ok": 1}),
    ]
    lines = [b"\x1b[0;32mI (301) main_task: Calling app_main()\x1b[0m"]
    lines += [format_record(t, f).encode() for t, f in recs[: None if finish else 6]]
    return [line + b"\r\n" for line in lines]


def recorded_session() -> bytes:
    """Noise at power-up, a first run cut by a reset mid-line, then a whole second run."""
    garbage = bytes([0x00, 0xFF, 0xFE, 0x8F, 0x1B, 0x5B, 0x30]) + b"\xe2\x82garbage\x00\r\n"
    first = b"".join(session("11111111", [1843, 1838, 1840], finish=False))
    cut = format_record("lat", {"seq": 6, "id": CNN, "i": 3, "us": [1839, 1842]}).encode()[:57]
    second = b"".join(session("22222222", [1850, 1841, 1839, 1845], finish=True))
    return garbage + ROM + first + cut + ROM + second


class FakeBoard:
    """Writes bytes into the master side of a pty, in small pieces with small delays."""

    def __init__(self, data: bytes, close_after: bool = False, seed: int = 4) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no line discipline: bytes arrive exactly as written
        self.port = os.ttyname(self.slave)
        self.data = data
        self.close_after = close_after
        self.opened = threading.Event()
        self.received_all = threading.Event()
        self.stop = threading.Event()
        self.rng = random.Random(seed)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if not self.opened.wait(5):
            return
        pos = 0
        while pos < len(self.data) and not self.stop.is_set():
            size = self.rng.randint(1, 96)  # USB packets and printf calls of varied size
            os.write(self.master, self.data[pos : pos + size])
            pos += size
            time.sleep(self.rng.choice((0, 0, 0.0005, 0.002)))
        if self.close_after:
            self.received_all.wait(5)
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        self.stop.set()
        self.opened.set()
        self.thread.join(5)
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)


@pytest.fixture
def board_factory(monkeypatch):
    boards = []
    real_open = capture_mod.open_port

    def make(data: bytes, **kwargs) -> FakeBoard:
        board = FakeBoard(data, **kwargs)
        boards.append(board)
        board.thread.start()
        return board

    def open_and_signal(port, baud):
        ser = real_open(port, baud)  # pyserial flushes input on open: the board waits for it
        for board in boards:
            if board.port == port:
                board.opened.set()
        return ser

    monkeypatch.setattr(capture_mod, "open_port", open_and_signal)
    yield make
    for board in boards:
        board.close()


def test_capture_until_done_keeps_every_byte_and_ingests(board_factory, tmp_path):
    sent = recorded_session()
    board = board_factory(sent)
    out = tmp_path / "logs" / "run.log"
    result = capture_mod.capture(board.port, out, until_done=True, seconds=10)
    assert result.stopped == "done"
    assert out.read_bytes() == sent
    assert result.n_bytes == len(sent)

    parsed = parse_log(out.read_bytes(), str(out))
    assert [b.run_id for b in parsed.boots] == ["11111111", "22222222"]
    assert [len(b.records) for b in parsed.boots] == [6, 8]
    assert parsed.boots[1].offset == sent.rindex(b"ESP-ROM:")  # mid-line, after the cut record
    assert parsed.boots[1].reset == "rst:0xc (RTC_SW_CPU_RST),boot:0x8 (SPI_FAST_FLASH_BOOT)"
    assert [p.message for p in parsed.problems] == [
        "rejected a record: incomplete or malformed record (cut line?)"
    ]

    first, second = ingest_logs([out], {CNN: "cnn_int8"})
    first_lat, second_lat = first["latency"], second["latency"]
    assert (first["status"], first_lat["n"], first_lat["min_us"], first_lat["max_us"]) == (
        "incomplete", 3, 1838.0, 1843.0
    )  # fmt: skip
    assert (second["status"], second_lat["n"], second_lat["min_us"], second_lat["max_us"]) == (
        "ok", 4, 1839.0, 1850.0
    )  # fmt: skip
    assert second["latency"]["median_us"] == 1843.0
    assert second["provenance"] == "measured-device"
    assert second["arena"]["used_bytes"] == 21452
    assert second["vectors"]["all_match"] is True
    assert second["source"]["boot"] == 1
    assert second["source"]["first_offset"] > sent.rindex(b"ESP-ROM:")


class ClockAfter:
    """A clock that stands still until every byte has arrived, then jumps far ahead.

    It makes "stop after N seconds" independent of how busy the machine running tests is.
    """

    def __init__(self, n_bytes: int) -> None:
        self.n_bytes = n_bytes
        self.received = 0

    def on_data(self, chunk: bytes) -> None:
        self.received += len(chunk)

    def __call__(self) -> float:
        return 1e9 if self.received >= self.n_bytes else 0.0


def test_capture_for_some_seconds(board_factory, tmp_path):
    sent = b"".join(session("33333333", [5, 6], finish=False))
    board = board_factory(sent)
    out = tmp_path / "t.log"
    clock = ClockAfter(len(sent))
    result = capture_mod.capture(board.port, out, seconds=5, clock=clock, on_data=clock.on_data)
    assert result.stopped == "time"
    assert out.read_bytes() == sent


def test_until_done_without_the_end_record_fails_but_keeps_the_bytes(board_factory, tmp_path):
    sent = b"".join(session("44444444", [5, 6], finish=False))
    board = board_factory(sent)
    out = tmp_path / "t.log"
    clock = ClockAfter(len(sent))
    with pytest.raises(SerialError, match="No end-of-run record from .* within 5 s; the "):
        capture_mod.capture(
            board.port, out, until_done=True, seconds=5, clock=clock, on_data=clock.on_data
        )
    assert out.read_bytes() == sent


def test_port_vanishing_mid_run_keeps_what_arrived(board_factory, tmp_path):
    sent = ROM + b"".join(session("55555555", [7, 8, 9], finish=False))
    board = board_factory(sent, close_after=True)
    out = tmp_path / "v.log"

    def watch(chunk: bytes) -> None:
        if out.stat().st_size >= len(sent):
            board.received_all.set()

    with pytest.raises(SerialError) as exc:
        capture_mod.capture(board.port, out, seconds=10, on_data=watch)
    assert str(exc.value).startswith(f"Serial port {board.port} went away during the capture")
    assert str(exc.value).endswith(f"the {len(sent)} bytes received are kept in {out}.")
    assert out.read_bytes() == sent


def test_reset_on_a_port_without_modem_lines_warns(board_factory, tmp_path):
    sent = b"".join(session("66666666", [1], finish=True))
    board = board_factory(sent)
    result = capture_mod.capture(
        board.port, tmp_path / "r.log", until_done=True, seconds=10, reset=True
    )
    assert result.stopped == "done"
    assert result.reset_ok is False
    assert "press its RESET button" in capture_mod.describe(result)


def test_the_port_opens_without_resetting_the_board(board_factory, tmp_path, monkeypatch):
    states = []
    real_open = serial.Serial.open

    def spy(self):
        states.append((self.dtr, self.rts))
        return real_open(self)

    monkeypatch.setattr(serial.Serial, "open", spy)
    board = board_factory(b"".join(session("77777777", [1], finish=True)))
    capture_mod.capture(board.port, tmp_path / "o.log", until_done=True, seconds=10)
    assert states == [(False, False)]


def test_unknown_port(tmp_path):
    out = tmp_path / "x.log"
    with pytest.raises(SerialError, match=r"^Serial port /dev/ttyTR_NOPE does not exist; plug"):
        capture_mod.capture("/dev/ttyTR_NOPE", out, seconds=1)
    assert not out.exists()


def test_busy_port(board_factory, tmp_path):
    board = board_factory(b"")
    holder = serial.Serial(board.port, 115200, exclusive=True)
    try:
        with pytest.raises(SerialError, match="is busy; close the serial monitor"):
            capture_mod.capture(board.port, tmp_path / "b.log", seconds=1)
    finally:
        holder.close()


def test_permission_denied(monkeypatch, tmp_path):
    # Tests may run as root, where file modes do not stop open(); raise what pyserial raises.
    def denied(self):
        raise serial.SerialException(
            errno.EACCES, "could not open port /dev/ttyACM0: [Errno 13] Permission denied"
        )

    monkeypatch.setattr(serial.Serial, "open", denied)
    with pytest.raises(SerialError, match=r"Permission denied on serial port /dev/ttyACM0; add"):
        capture_mod.capture("/dev/ttyACM0", tmp_path / "p.log", seconds=1)


def test_an_existing_log_is_never_overwritten(board_factory, tmp_path):
    board = board_factory(b"x")
    out = tmp_path / "old.log"
    out.write_bytes(b"precious")
    with pytest.raises(OutputError, match="already exists"):
        capture_mod.capture(board.port, out, seconds=0.2)
    assert out.read_bytes() == b"precious"


def test_default_log_path():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 15, 1, 2, tzinfo=UTC)
    got = capture_mod.default_log_path(Path("benchmarks/logs"), "/dev/ttyACM0", now)
    assert got == Path("benchmarks/logs/20261123T150102Z-ttyACM0.log")
    assert capture_mod.default_log_path(Path("l"), "COM5", now).name == "20261123T150102Z-COM5.log"


def test_cli_capture_then_ingest(board_factory, tmp_path, monkeypatch, capsys):
    sent = recorded_session()
    board = board_factory(sent)
    out = tmp_path / "cli.log"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "tinyreport",
            "capture",
            "--port",
            board.port,
            "--until-done",
            "--seconds",
            "10",
            "--out",
            str(out),
            "-q",
        ],
    )
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"Capturing {board.port} into {out} until the end-of-run record (at most 10 s).\n"
    )
    stdout = captured.out
    assert f"Saved {len(sent)} bytes to {out}; stopped because the end-of-run record arrived." in (
        stdout
    )
    assert f"Read it with: tinyreport ingest {out}" in stdout
    assert out.read_bytes() == sent


def test_cli_capture_unknown_port(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        sys,
        "argv",
        ["tinyreport", "capture", "--port", "/dev/ttyTR_NOPE", "--out", str(tmp_path / "n.log")],
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 1
    assert capsys.readouterr().err.startswith(
        "tinyreport: error: Serial port /dev/ttyTR_NOPE does not exist"
    )


# --- bad input: one sentence, no traceback, nothing read from the port -----------------------


def _run_cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["tinyreport", "capture", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code


@pytest.mark.parametrize("baud", ["-5", "0"])
def test_cli_rejects_a_bad_baud_rate_even_without_a_port(baud, tmp_path, monkeypatch, capsys):
    out = tmp_path / "b.log"
    code = _run_cli(monkeypatch, "--port", "/dev/ttyTR_NOPE", "--baud", baud, "--out", str(out))
    err = capsys.readouterr().err
    assert code == 2
    assert f"Error: Invalid value for '--baud': {baud} is not in the range x>=1." in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_bad_baud_rate_is_a_serial_error(tmp_path):
    out = tmp_path / "b.log"
    with pytest.raises(SerialError, match=r"^-5 is not a valid baud rate; give a positive"):
        capture_mod.capture("/dev/ttyTR_NOPE", out, baud=-5, seconds=1)
    assert not out.exists()


def test_a_baud_rate_the_port_cannot_take(board_factory, tmp_path):
    board = board_factory(b"")
    out = tmp_path / "b.log"
    with pytest.raises(SerialError, match=r"does not take the baud rate 99999999999; give one"):
        capture_mod.capture(board.port, out, baud=99_999_999_999, seconds=1)
    assert not out.exists()


@pytest.fixture
def reads(monkeypatch):
    """Every read from a serial port, recorded."""
    calls = []
    real_read = serial.Serial.read

    def spy(self, size=1):
        calls.append(size)
        return real_read(self, size)

    monkeypatch.setattr(serial.Serial, "read", spy)
    return calls


def test_a_log_under_a_file_is_refused_before_reading(board_factory, reads, tmp_path):
    board = board_factory(b"".join(session("88888888", [1], finish=True)))
    (tmp_path / "regular").write_text("a file")
    out = tmp_path / "regular" / "x.log"
    with pytest.raises(OutputError) as exc:
        capture_mod.capture(board.port, out, until_done=True, seconds=5)
    assert str(exc.value) == (
        f"Cannot write the log {out}: {tmp_path / 'regular'} is a file, not a folder; "
        "pick another --out."
    )
    assert reads == []


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_a_log_in_an_unwritable_folder_is_refused_before_reading(board_factory, reads):
    board = board_factory(b"".join(session("99999999", [1], finish=True)))
    out = Path("/sys/tinyreport-test.log")  # sysfs refuses new files, even to root
    with pytest.raises(OutputError) as exc:
        capture_mod.capture(board.port, out, until_done=True, seconds=5)
    assert str(exc.value) == (
        f"Cannot write the log {out}: /sys is not writable (permission denied); pick another --out."
    )
    assert reads == []


def test_cli_says_why_a_log_cannot_be_written(board_factory, tmp_path, monkeypatch, capsys):
    board = board_factory(b"")
    (tmp_path / "regular").write_text("a file")
    out = tmp_path / "regular" / "x.log"
    code = _run_cli(monkeypatch, "--port", board.port, "--seconds", "1", "--out", str(out), "-q")
    err = capsys.readouterr().err
    assert code == 1
    assert err == (
        f"tinyreport: error: Cannot write the log {out}: {tmp_path / 'regular'} is a file, "
        "not a folder; pick another --out.\n"
    )


def test_a_failing_write_keeps_what_was_saved(board_factory, tmp_path, monkeypatch):
    sent = b"".join(session("12121212", [1, 2], finish=True))
    board = board_factory(sent)
    out = tmp_path / "w.log"
    real_open = capture_mod._create_log

    class Full:
        """A log file whose disk fills up after the first write."""

        def __init__(self, f):
            self.f, self.n = f, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, chunk):
            self.n += 1
            if self.n > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(chunk)

        def flush(self):
            self.f.flush()

    monkeypatch.setattr(capture_mod, "_create_log", lambda path: Full(real_open(path)))
    with pytest.raises(OutputError, match=r"\(no space left on the device\); the capture stopped"):
        capture_mod.capture(board.port, out, until_done=True, seconds=5)
    assert sent.startswith(out.read_bytes()) and out.read_bytes()


# --- a port name that is not a serial port: one sentence, not pyserial's errno tuple ---------


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda p: p.write_text("not a port\n"), "a regular file"),
        (lambda p: p.mkdir(), "a folder"),
    ],
)
def test_cli_capture_on_a_file_or_folder_says_it_is_not_a_port(
    make, what, tmp_path, monkeypatch, capsys
):
    port = tmp_path / "ttyUSB_not"
    make(port)
    out = tmp_path / "c.log"
    code = _run_cli(monkeypatch, "--port", str(port), "--out", str(out), "--seconds", "1")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(
        f"tinyreport: error: {port} is {what}; give the board's serial port, e.g. /dev/ttyACM0"
    )
    assert "Errno" not in err and "(25, " not in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_capture_on_a_device_that_is_not_a_tty_says_so(tmp_path):
    out = tmp_path / "n.log"
    with pytest.raises(SerialError) as exc:
        capture_mod.capture(os.devnull, out, seconds=1)
    assert str(exc.value).startswith(f"{os.devnull} is a device but not a serial port; give")
    assert "Inappropriate ioctl" not in str(exc.value)
    assert not out.exists()
