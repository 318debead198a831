"""Typed errors whose message is one sentence a user can act on."""


class TinyReportError(Exception):
    """Base for every error caused by the user's input or environment, never by a bug."""

    exit_code = 1


class ConfigError(TinyReportError):
    """The configuration file is missing or holds invalid values."""

    exit_code = 2


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
