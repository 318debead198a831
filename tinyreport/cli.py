"""Command line: argv -> one call into the library -> exit code. Imports happen lazily."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinyreport import __version__
from tinyreport.errors import TinyReportError

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("tinyreport.toml"),
    show_default=True,
    help="Configuration file.",
)

_ALL_MODELS = "\0all"  # what a bare --retrain stands for; no model can have this name


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyreport")
def cli() -> None:
    """Measure small Keras models for the XIAO ESP32-S3 and publish the facts."""


@cli.command()
@config_option
@click.option("-v", "--verbose", is_flag=True, help="Show progress even when not on a terminal.")
@click.option("-q", "--quiet", is_flag=True, help="Show no progress.")
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Collect only this model (repeatable); the results then hold only these models.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Build this many models at once, in separate processes.",
)
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the results file here instead of the configured one (e.g. a part to merge).",
)
@click.option("--no-pages", is_flag=True, help="Write the results file only, no page.")
@click.option(
    "--retrain",
    "retrain",
    is_flag=False,
    flag_value=_ALL_MODELS,
    default=None,
    metavar="[NAME]",
    help="Train model NAME (every model without NAME) again and replace it in the model store.",
)
def collect(
    config_path: Path,
    verbose: bool,
    quiet: bool,
    only: tuple[str, ...],
    jobs: int,
    results_path: Path | None,
    no_pages: bool,
    retrain: str | None,
) -> None:
    """Convert, evaluate and measure the stored models (training those the store lacks);
    write results and pages."""
    from tinyreport.config import load_config
    from tinyreport.pipeline import collect as collect_mod
    from tinyreport.progress import Progress

    config = load_config(config_path)
    warnings: list[str] = []  # printed once the progress display is gone
    try:
        with Progress.for_terminal(verbose=verbose, quiet=quiet) as progress:
            names = () if retrain is None else [retrain]
            if retrain == _ALL_MODELS:
                names = list(config.models)
            summary = collect_mod.collect(
                config,
                progress=progress,
                warn=warnings.append,
                only=list(only) or None,
                jobs=jobs,
                results_path=results_path.resolve() if results_path else None,
                pages=not no_pages,
                retrain=names,
            )
    finally:
        for warning in warnings:
            click.echo(f"tinyreport: warning: {warning}", err=True)
    click.echo(summary)


@cli.command()
@click.option("--port", required=True, help="Serial port, e.g. /dev/ttyACM0 or COM5.")
@click.option(
    "--baud", type=click.IntRange(min=1), default=115200, show_default=True, help="Baud rate."
)
@click.option("--until-done", is_flag=True, help="Stop at the end-of-run record.")
@click.option("--seconds", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--reset", is_flag=True, help="Reset the board through DTR/RTS first.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Log file to write (default: benchmarks/logs/<time>-<port>.log).",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not echo what the board prints.")
def capture(
    port: str,
    baud: int,
    until_done: bool,
    seconds: float | None,
    reset: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    """Save what a board prints over serial to a raw log file."""
    from tinyreport.device.serial import capture as capture_mod

    path = out or capture_mod.default_log_path(Path("benchmarks/logs"), port)
    echo = None if quiet else (lambda chunk: click.echo(chunk, nl=False, err=True))
    limit = "" if seconds is None else f"{seconds:g} s"
    until = {
        (True, True): f"the end-of-run record (at most {limit})",
        (True, False): "the end-of-run record or Ctrl-C",
        (False, True): f"{limit} have passed or Ctrl-C",
        (False, False): "Ctrl-C",
    }[(until_done, seconds is not None)]

    def started() -> None:
        click.echo(f"Capturing {port} into {path} until {until}.", err=True)

    result = capture_mod.capture(
        port,
        path,
        baud=baud,
        until_done=until_done,
        seconds=seconds,
        reset=reset,
        on_data=echo,
        on_start=started,
    )
    click.echo(capture_mod.describe(result))


@cli.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--models",
    "model_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A .tflite file, or a folder searched for them; runs are checked against their sha256.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the device runs as JSON.")
@click.option("--strict", is_flag=True, help="Treat every problem in a log as an error.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("tinyreport.toml"),
    show_default=True,
    help="Configuration whose [[ingest.patterns]] are read too, when the file exists.",
)
def ingest(
    logs: tuple[Path, ...],
    model_paths: tuple[Path, ...],
    as_json: bool,
    strict: bool,
    config_path: Path,
) -> None:
    """Read device logs and print the runs they hold, with statistics."""
    from tinyreport.device.serial import ingest as ingest_mod
    from tinyreport.progress import Progress

    patterns: tuple = ()
    if config_path.is_file():  # the project's own log formats, when there is a project here
        from tinyreport.config import load_config

        patterns = load_config(config_path).log_patterns()
    known = ingest_mod.known_models_from(list(model_paths))
    with Progress.for_terminal() as progress:
        reports = ingest_mod.ingest_reports(
            list(logs), known, progress=progress.bytes_read, patterns=patterns
        )
    if as_json:
        for piece in ingest_mod.json_pieces(reports):
            click.echo(piece, nl=False)
        click.echo()
    else:
        click.echo(ingest_mod.render(reports, checked=bool(model_paths)))
    for warning in ingest_mod.warnings(reports):
        click.echo(f"tinyreport: warning: {warning}", err=True)
    ingest_mod.check(reports, models_given=bool(model_paths), strict=strict)


ANALYZE_HELP = """Compute a model's tensor arena and its SRAM/flash budget on a board.

With --board all (or --all-boards), show every board at once, smallest usable SRAM first, and
name the smallest board the model fits.

Exit codes, so that a CI job can fail a pull request that breaks the budget:

0: the model fits (no SRAM or flash verdict is EXCEEDED; with --board all: it fits at least
one board).

1: the model file cannot be used (unreadable, not TFLite, refused).

2: usage or configuration error (e.g. an unknown board).

3: the model does not fit the board (with --fail-on tight, a TIGHT verdict too; with --board
all: it fits no board).
"""


@cli.command(help=ANALYZE_HELP)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--board",
    default="xiao-esp32s3",
    show_default=True,
    help="Target board id (list them with `tinyreport boards`), or 'all' for every board.",
)
@click.option("--all-boards", is_flag=True, help="Same as --board all.")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as a JSON document.")
@click.option("--int8-only", is_flag=True, help="Refuse models that need float kernels.")
@click.option(
    "--fail-on",
    type=click.Choice(["exceeded", "tight"]),
    default="exceeded",
    show_default=True,
    help="Which verdict makes the model not fit (exit code 3): EXCEEDED only, or TIGHT too.",
)
def analyze(
    model: Path, board: str, all_boards: bool, as_json: bool, int8_only: bool, fail_on: str
) -> None:
    from tinyreport.analysis.analyze import report
    from tinyreport.errors import EXIT_DOES_NOT_FIT

    text, ok = report(
        model,
        "all" if all_boards else board,
        as_json=as_json,
        int8_only=int8_only,
        color=sys.stdout.isatty(),
        fail_on=fail_on,
    )
    click.echo(text, nl=False)
    if not ok:
        click.get_current_context().exit(EXIT_DOES_NOT_FIT)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as a JSON document.")
def boards(as_json: bool) -> None:
    """List the boards tinyreport knows: memories, clock, core, kernels and sources."""
    from tinyreport.analysis.boards import catalogue

    click.echo(catalogue(as_json=as_json, color=sys.stdout.isatty()), nl=False)


@cli.command()
@config_option
@click.option(
    "--vectors",
    "n_vectors",
    type=int,
    default=10,
    show_default=True,
    help="Test vectors per model: the first K test images and the host TFLM's outputs.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write (default: firmware/main/generated next to the configuration).",
)
def firmware(config_path: Path, n_vectors: int, out: Path | None) -> None:
    """Write the firmware's generated sources for the models in the results file."""
    from tinyreport.config import load_config
    from tinyreport.device import firmware as firmware_mod

    config = load_config(config_path)
    click.echo(firmware_mod.generate(config, n_vectors=n_vectors, out=out))


@cli.command()
@config_option
@click.argument("parts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def merge(config_path: Path, parts: tuple[Path, ...]) -> None:
    """Join results files of separate collects (e.g. one per model); write results and pages."""
    from tinyreport.config import load_config
    from tinyreport.pipeline import collect as collect_mod

    click.echo(collect_mod.merge(load_config(config_path), list(parts)))


@cli.command()
@click.argument(
    "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("."), required=False
)
def init(folder: Path) -> None:
    """Scaffold a project in FOLDER: config, MkDocs site, Pages workflows, .gitignore."""
    from tinyreport.scaffold import init as init_project

    click.echo(init_project(folder))


@cli.command()
@click.argument("base", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@click.option("--markdown", is_flag=True, help="Print the changes as a Markdown table.")
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="NAME=±N[%|pt]",
    help="Exit 1 if a figure moves past this, e.g. arena=+5% (rises more than 5 %), "
    "accuracy=-0.5pt (falls more than 0.5 points), size=+1024 (grows by more than 1024 B). "
    "NAME is accuracy, arena, size, flash, sram or a field as listed. Repeatable.",
)
def diff(base: Path, new: Path, as_json: bool, markdown: bool, fail_on: tuple[str, ...]) -> None:
    """List every figure that differs between two results files.

    Exit status: 0 compared (whether or not figures changed), 1 a --fail-on threshold was
    crossed, 2 a file or a threshold could not be read.
    """
    from tinyreport import diff as diff_mod

    thresholds = [diff_mod.parse_threshold(t) for t in fail_on]
    changes = diff_mod.compare(diff_mod.load(base), diff_mod.load(new))
    hits = diff_mod.crossed(changes, thresholds)
    render = diff_mod.to_json if as_json else diff_mod.to_markdown if markdown else diff_mod.to_text
    click.echo(render(changes, hits), nl=False)
    if hits:
        sys.exit(diff_mod.EXIT_THRESHOLD)


def main() -> None:
    """Run the CLI; turn tinyreport's own errors into one line and a non-zero exit."""
    try:
        code = cli.main(standalone_mode=False)
    except TinyReportError as exc:
        click.echo(f"tinyreport: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, EOFError):
            # click turns any EOFError into Abort, as if the user had pressed Ctrl-D at a
            # prompt; tinyreport asks nothing, so this is a bug and must not look like Ctrl-C.
            raise exc.__cause__ from None
        click.echo("tinyreport: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("tinyreport: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
