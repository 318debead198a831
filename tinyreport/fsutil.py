"""Atomic file writes: a reader never sees half a file, a crash never leaves one."""

from __future__ import annotations

import errno
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tinyreport.errors import OutputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    tmp = _stage(path, data.encode("utf-8") if isinstance(data, str) else data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Write atomically unless the file already holds exactly `text`; return whether it wrote."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    write_atomic(path, text)
    return True


_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.EEXIST: "part of the path is a file, not a folder",  # mkdir over a file
    errno.ENAMETOOLONG: "the name is too long",
}


def reason(exc: OSError) -> str:
    """Say in a few words why a file operation failed, e.g. "permission denied"."""
    text = _REASONS.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def output_problem(
    path: Path, folder: bool = False, name: Callable[[Path], str] = str
) -> str | None:
    """Say why `path` cannot be written as a file (or a folder), or return None if it can.

    Besides looking at what is there, it creates (and at once drops) a nameless file in the
    nearest folder that exists: that is what writing needs, mode bits say little to root, and a
    read-only mount or a pseudo file system such as /sys only says no when asked.
    """
    probe = path
    try:
        if path.is_dir():
            if not folder:
                return f"{name(path)} is a folder, not a file"
        elif path.exists() or path.is_symlink():
            if folder:
                return f"{name(path)} is a file, not a folder"
            probe = path.parent
        while not probe.is_dir():
            if probe.exists() or probe.is_symlink():
                return f"{name(probe)} is a file, not a folder"
            probe = probe.parent
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        return f"{name(probe)} is not writable ({reason(exc)})"
    return None


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block is done, then deliver them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in kinds}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for s in dict.fromkeys(received):
            signal.raise_signal(s)


def _holds(path: Path, raw: bytes) -> bool:
    try:
        return path.is_file() and path.read_bytes() == raw
    except OSError:
        return False


def _stage(path: Path, raw: bytes) -> Path:
    """Write `raw` to a new hidden file beside `path` (same file system); return its path."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def publish(
    files: Mapping[Path, bytes | str],
    remove: Iterable[Path] = (),
    name: Callable[[Path], str] = str,
) -> list[Path]:
    """Replace a set of files together; delete the files in `remove`; return what changed.

    Every file whose content changes is first written in full beside its destination; only
    then are they all renamed into place and `remove` deleted, in one short step that Ctrl-C
    waits for. A failure or an interruption before that step leaves every destination as it
    was. Raises OutputError (saying nothing was changed) when a file cannot be written.
    """
    staged: list[tuple[Path, Path]] = []
    path = None
    try:
        for path, data in files.items():
            raw = data.encode("utf-8") if isinstance(data, str) else data
            if not _holds(path, raw):
                staged.append((_stage(path, raw), path))
    except BaseException as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and path is not None:
            raise OutputError(
                f"cannot write {name(path)} ({reason(exc)}); nothing was changed"
            ) from None
        raise
    changed: list[Path] = []
    with _signals_deferred():
        try:
            for tmp, path in staged:
                os.replace(tmp, path)
                changed.append(path)
            for path in remove:
                path.unlink(missing_ok=True)
                changed.append(path)
        except OSError as exc:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise OutputError(
                f"cannot replace {name(path)} ({reason(exc)}); "
                f"{len(changed)} of the files were already replaced"
            ) from None
    return changed


@contextmanager
def native_output_to(log_path: Path) -> Iterator[None]:
    """Send everything written to fds 1 and 2 (TensorFlow's C++ logs too) into `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
