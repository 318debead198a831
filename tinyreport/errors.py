"""Typed errors whose message is one sentence a user can act on, and the CLI's exit codes."""

#: Exit codes of the `tinyreport` command (documented in `tinyreport analyze --help` and
#: docs/reference/analysis.md). 1 and 2 come from the errors below; 2 also from click's usage
#: errors.
EXIT_OK = 0
EXIT_ERROR = 1  # bad input or environment: a model, data, log or output problem
EXIT_CONFIG = 2  # a configuration, board or command-line problem
EXIT_DOES_NOT_FIT = 3  # `analyze`: the model does not fit the board (the gate)
EXIT_INTERRUPTED = 130


class TinyReportError(Exception):
    """Base for every error caused by the user's input or environment, never by a bug."""

    exit_code = EXIT_ERROR


class ConfigError(TinyReportError):
    """The configuration file is missing or holds invalid values."""

    exit_code = EXIT_CONFIG


class DataError(TinyReportError):
    """A dataset is missing, corrupt or has the wrong layout."""


class ModelFileError(TinyReportError):
    """A model file cannot be read, parsed or run."""


class SerialError(TinyReportError):
    """A serial port is missing, busy or went away."""


class LogFormatError(TinyReportError):
    """A device log cannot be used (unknown model, corrupt record)."""


class OutputError(TinyReportError):
    """An output file or folder cannot be written."""
