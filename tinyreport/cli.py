"""Command line: argv -> one call into the library -> exit code. Imports happen lazily."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tinyreport import __version__
from tinyreport.errors import TinyReportError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinyreport")
def cli() -> None:
    """Measure small Keras models for the XIAO ESP32-S3 and publish the facts."""


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("tinyreport.toml"),
    show_default=True,
    help="Configuration file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show progress even when not on a terminal.")
@click.option("-q", "--quiet", is_flag=True, help="Show no progress.")
def collect(config_path: Path, verbose: bool, quiet: bool) -> None:
    """Train, convert, evaluate and measure the models; write results and pages."""
    from tinyreport import collect as collect_mod
    from tinyreport.config import load_config
    from tinyreport.progress import Progress

    config = load_config(config_path)
    with Progress.for_terminal(verbose=verbose, quiet=quiet) as progress:
        summary = collect_mod.collect(config, progress=progress)
    click.echo(summary)


def main() -> None:
    """Run the CLI; turn tinyreport's own errors into one line and a non-zero exit."""
    try:
        cli.main(standalone_mode=False)
    except TinyReportError as exc:
        click.echo(f"tinyreport: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("tinyreport: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("tinyreport: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
