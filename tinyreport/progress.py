"""Progress for long stages: a live bar on a terminal, plain lines when asked, silence otherwise."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager


class Progress(AbstractContextManager):
    """Report stage, model and epoch. Silent unless on a terminal or verbose."""

    def __init__(self, mode: str = "quiet") -> None:
        self.mode = mode  # "live" | "lines" | "quiet"
        # A private copy of stderr: progress stays visible while TensorFlow's output is
        # redirected to a log file.
        self._out = os.fdopen(os.dup(2), "w", buffering=1) if mode != "quiet" else None
        self._live = None
        self._task = None
        self._name: str | None = None  # the file bytes_read() shows

    @classmethod
    def for_terminal(cls, verbose: bool = False, quiet: bool = False) -> Progress:
        """Pick live output on a TTY, plain lines with --verbose, nothing with --quiet."""
        if quiet:
            return cls("quiet")
        if sys.stderr.isatty():
            return cls("live")
        return cls("lines" if verbose else "quiet")

    def __enter__(self) -> Progress:
        if self.mode == "live":
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._live = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                transient=True,
                console=Console(file=self._out),
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def stage(self, model: str, stage: str, total: int | None = None) -> None:
        """Announce a stage of a model's pipeline (total: steps, e.g. epochs)."""
        text = f"{model}: {stage}"
        if self._live is not None:
            if self._task is not None:
                self._live.remove_task(self._task)
            self._task = self._live.add_task(text, total=total or 1)
        elif self.mode == "lines":
            print(text, file=self._out, flush=True)

    def step(self, done: int, total: int, detail: str = "") -> None:
        """Advance the current stage, e.g. after an epoch."""
        if self._live is not None and self._task is not None:
            self._live.update(self._task, completed=done, total=total)
        elif self.mode == "lines":
            print(f"  {done}/{total} {detail}".rstrip(), file=self._out, flush=True)

    def bytes_read(self, name: str, done: int, total: int | None) -> None:
        """Show how much of a file has been read (total: its size, None when unknown)."""
        if self._live is None:
            return  # one line per piece would be noise: only the live bar shows reading
        if self._name != name:
            self._name = name
            self.stage(name, "reading (MB)", total=None)
        mb = 1_000_000
        self._live.update(
            self._task, completed=done // mb, total=None if total is None else -(-total // mb)
        )
