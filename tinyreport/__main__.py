"""Allow `python -m tinyreport`; the console script starts here too.

Ctrl-C while the command's modules load (click, pydantic, numpy) is reported like Ctrl-C
later on, one line and status 130 with no traceback; Ctrl-C once the command has finished
does not change its status.
"""

import os
import signal
import sys


def run() -> None:
    """Load the CLI, run it, exit with its status."""
    try:
        from tinyreport.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("tinyreport: interrupted\n")
        _exit_now(130)
    try:
        main()
    except SystemExit as done:
        # The command has finished and said so. The interpreter may still wait for threads
        # (TensorFlow starts some), and Ctrl-C there would print a traceback and exit -2
        # after the success line: from here it ends the process with the status decided.
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if code == 130:  # interrupted: said so already
            _exit_now(code)
        signal.signal(signal.SIGINT, lambda _signum, _frame: _exit_now(code))
        raise


def _exit_now(code: int) -> None:
    """Flush and end the process with `code`, skipping the interpreter's shutdown.

    Not sys.exit: Python 3.11 exits -2 instead when an interrupt went through code run by
    eval() during an import (collections.namedtuple does), even once caught.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
