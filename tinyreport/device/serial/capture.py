"""Capture a board's serial output to a raw log file, byte for byte, as it arrives.

IO only: the bytes go to the file unchanged (flushed after every read, never rewritten); the
only thing read from them is whether the end-of-run record has arrived. Parsing is
``parse.py``'s job.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tinyreport.device.serial import protocol
from tinyreport.errors import OutputError, SerialError
from tinyreport.fsutil import output_problem, reason

DEFAULT_BAUD = 115200
_READ_TIMEOUT_S = 0.05
_MAX_PENDING = 8192  # longest partial line kept while looking for the end-of-run record


@dataclass(frozen=True)
class CaptureResult:
    """What a capture did: where the bytes are, how many, and why it stopped."""

    path: Path
    n_bytes: int
    stopped: str  # done | time | interrupted
    seconds: float
    reset_ok: bool | None  # None when no reset was asked for
    reset_message: str | None = None


def default_log_path(logs_dir: Path, port: str, now: datetime | None = None) -> Path:
    """Return ``logs_dir/<UTC timestamp>-<port name>.log`` for a new capture."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", port.rstrip("/\\").split("/")[-1].split("\\")[-1])
    return logs_dir / f"{stamp}-{name or 'port'}.log"


def _available_ports() -> str:
    try:
        from serial.tools import list_ports

        names = sorted(p.device for p in list_ports.comports())
    except Exception:  # listing is a courtesy; never let it hide the real error
        return ""
    return f" Ports present: {', '.join(names)}." if names else " No serial ports are present."


def open_port(port: str, baud: int):
    """Open a serial port for reading, exclusively; raise SerialError saying what to do.

    DTR and RTS are released before the port opens: on the ESP32-S3's USB-Serial-JTAG (and on
    boards with the usual auto-reset circuit) asserting them resets the board, and a capture
    must not restart a run unless asked to.
    """
    import serial

    _check_port_path(port)
    ser = serial.Serial()
    ser.port = port
    try:
        ser.baudrate = baud
    except ValueError:
        raise SerialError(
            f"{baud!r} is not a valid baud rate; give a positive number such as {DEFAULT_BAUD}."
        ) from None
    ser.timeout = _READ_TIMEOUT_S
    ser.exclusive = True
    ser.dtr = False
    ser.rts = False
    try:
        ser.open()
        return ser
    except (ValueError, OverflowError):  # pyserial checks a custom rate only when it opens
        raise SerialError(
            f"Serial port {port} does not take the baud rate {baud}; give one such as "
            f"{DEFAULT_BAUD}."
        ) from None
    except serial.SerialException as exc:
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.ENOENT or "No such file" in text or "FileNotFoundError" in text:
            raise SerialError(
                f"Serial port {port} does not exist; plug the board in or pick another port."
                + _available_ports()
            ) from None
        if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
            raise SerialError(
                f"Permission denied on serial port {port}; add yourself to its group "
                f"(on Linux: sudo usermod -aG dialout $USER, then log in again)."
            ) from None
        if code == errno.EBUSY or "busy" in text.lower() or "lock" in text.lower():
            raise SerialError(
                f"Serial port {port} is busy; close the serial monitor or program that holds it."
            ) from None
        if code == errno.ENOTTY or "Inappropriate ioctl" in text:
            raise SerialError(
                _NOT_A_PORT.format(port=port, what="a device but not a serial port", ports="")
            ) from None
        cause = _os_error(exc)
        why = reason(cause) if cause is not None else "the device refused"
        raise SerialError(f"Cannot open serial port {port}: {why}.") from None


_NOT_A_PORT = (
    "{port} is {what}; give the board's serial port, e.g. /dev/ttyACM0 (Linux), "
    "/dev/cu.usbmodem101 (macOS) or COM5 (Windows)." + "{ports}"
)


def _check_port_path(port: str) -> None:
    """Refuse a port name that is an existing folder or regular file, before pyserial tries it."""
    path = Path(port)
    try:
        if path.is_dir():
            what = "a folder"
        elif path.is_file():
            what = "a regular file"
        else:
            return
    except OSError:  # a name the file system cannot even look at: pyserial will say
        return
    raise SerialError(_NOT_A_PORT.format(port=port, what=what, ports=_available_ports()))


def _os_error(exc: BaseException) -> OSError | None:
    """Return the OSError behind a pyserial error, when there is one with an errno."""
    for cause in (exc, exc.__cause__, exc.__context__):
        if isinstance(cause, OSError) and cause.errno is not None:
            return cause
    code = getattr(exc, "errno", None)
    return OSError(code, os.strerror(code)) if isinstance(code, int) else None


def _create_log(out: Path):
    """Create the log file, which must not exist yet; raise OutputError saying why it cannot."""
    if out.exists() or out.is_symlink():
        if out.is_dir():
            raise OutputError(f"{out} is a folder; give --out a file name.")
        raise OutputError(f"{out} already exists; captures never overwrite a log.")
    problem = output_problem(out)
    if problem is None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            return open(out, "xb")
        except FileExistsError:
            raise OutputError(f"{out} already exists; captures never overwrite a log.") from None
        except OSError as exc:
            problem = f"{out} cannot be created ({reason(exc)})"
    raise OutputError(f"Cannot write the log {out}: {problem}; pick another --out.")


def reset_board(ser) -> str | None:
    """Reset the board through RTS (EN) with DTR (GPIO0) released; return None or a warning."""
    try:
        ser.dtr = False
        ser.rts = True
        time.sleep(0.1)
        ser.rts = False
    except Exception as exc:  # pyserial raises OSError or SerialException by platform
        return f"could not reset the board through DTR/RTS ({exc}); press its RESET button"
    return None


class _DoneWatcher:
    """Look at complete lines for a valid end-of-run (``done``) record."""

    def __init__(self) -> None:
        self.pending = b""
        self.done = False

    def feed(self, chunk: bytes) -> bool:
        data = self.pending + chunk
        *lines, self.pending = data.split(b"\n")
        self.pending = self.pending[-_MAX_PENDING:]
        for line in lines:
            if b"@TR" in line and b" done " in line:
                text = line.decode("ascii", "replace")
                records, _ = protocol.find_records(text)
                if any(r.rtype == "done" for r in records):
                    self.done = True
        return self.done


def capture(
    port: str,
    out: Path,
    *,
    baud: int = DEFAULT_BAUD,
    until_done: bool = False,
    seconds: float | None = None,
    reset: bool = False,
    on_data: Callable[[bytes], None] | None = None,
    on_start: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> CaptureResult:
    """Copy what the port sends into ``out`` until done, time is up, or Ctrl-C.

    Raises SerialError when the port cannot be opened (nothing is written then), when it goes
    away during the capture, or when ``until_done`` and the time is up before the end-of-run
    record; in the last two cases the file keeps every byte received. Raises OutputError when
    ``out`` cannot be created (before anything is read from the port) or written.
    """
    ser = open_port(port, baud)
    try:
        log = _create_log(out)
    except BaseException:
        ser.close()
        raise
    watcher = _DoneWatcher()
    n_bytes = 0
    started = clock()
    reset_ok: bool | None = None
    reset_message: str | None = None
    stopped = "interrupted"
    try:
        with log:
            if on_start is not None:
                on_start()
            if reset:
                reset_message = reset_board(ser)
                reset_ok = reset_message is None
            try:
                while True:
                    if seconds is not None and clock() - started >= seconds:
                        stopped = "time"
                        break
                    try:
                        chunk = ser.read(max(1, ser.in_waiting))
                    except Exception as exc:  # SerialException or OSError: the port went away
                        log.flush()
                        raise SerialError(
                            f"Serial port {port} went away during the capture ({exc}); "
                            f"the {n_bytes} bytes received are kept in {out}."
                        ) from None
                    if not chunk:
                        continue
                    try:
                        log.write(chunk)
                        log.flush()
                    except OSError as exc:
                        raise OutputError(
                            f"Cannot write to {out} ({reason(exc)}); the capture stopped "
                            f"after {n_bytes} bytes, which the file keeps."
                        ) from None
                    n_bytes += len(chunk)
                    if on_data is not None:
                        on_data(chunk)
                    if watcher.feed(chunk) and until_done:
                        stopped = "done"
                        break
            except KeyboardInterrupt:
                stopped = "interrupted"
    finally:
        try:
            ser.close()
        except Exception:
            pass
    elapsed = clock() - started
    if until_done and stopped != "done" and stopped != "interrupted":
        raise SerialError(
            f"No end-of-run record from {port} within {seconds:g} s; "
            f"the {n_bytes} bytes received are kept in {out}."
        )
    return CaptureResult(out, n_bytes, stopped, elapsed, reset_ok, reset_message)


def describe(result: CaptureResult) -> str:
    """Return a short account of a capture and the command that reads it."""
    why = {
        "done": "the end-of-run record arrived",
        "time": "the time was up",
        "interrupted": "it was interrupted",
    }[result.stopped]
    lines = [f"Saved {result.n_bytes} bytes to {result.path}; stopped because {why}."]
    if result.reset_message:
        lines.append(f"Warning: {result.reset_message}.")
    if result.n_bytes:
        lines.append(f"Read it with: tinyreport ingest {result.path}")
    else:
        lines.append("Nothing arrived: is the firmware flashed and the baud rate right?")
    return "\n".join(lines)
