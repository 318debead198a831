"""Outputs pointed at files tinyreport did not write are refused, before any work, and the files
are left as they were: hand-written pages, a README or the configuration as the results file,
a script of one's own where the site's assets go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e import TINY_CONFIG, make_project, tinyreport

from tinyreport.config import load_config
from tinyreport.errors import ConfigError, OutputError
from tinyreport.pipeline import collect as collect_mod
from tinyreport.results import dumps, is_results_file
from tinyreport.site import render as site

HEAD = "tinyreport: error: outputs that cannot be written; change [output] or the files in the way:"


def _project(tmp_path: Path, output: str = "") -> Path:
    root = make_project(tmp_path / "p", TINY_CONFIG + (f"[output]\n{output}\n" if output else ""))
    (root / "README.md").write_text("# My project\n\nHand-written.\n")
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "artifacts" not in p.parts
    }


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (
            'pages_dir = "docs"',
            "Config value 'output.pages_dir': docs/index.md was not written by tinyreport (it "
            "lacks the generated mark); writing the pages there would replace it",
        ),
        (
            'results = "README.md"',
            "Config value 'output.results': README.md exists and is not a tinyreport results "
            "file; writing the results there would replace it",
        ),
        (
            'results = "tinyreport.toml"',
            "Config value 'output.results': tinyreport.toml exists and is not a tinyreport "
            "results file; writing the results there would replace it",
        ),
        (
            'results = "docs/report/index.md"',
            "Config value 'output.results': docs/report/index.md is also a page or an asset",
        ),
    ],
)
def test_outputs_on_hand_written_files_are_refused_before_any_work(tmp_path, output, problem):
    root = _project(tmp_path, output)
    before = _files(root)
    proc = tinyreport(root, "collect", "-q", timeout=120)
    assert (proc.returncode, proc.stderr) == (2, f"{HEAD}\n{problem}\n")
    assert _files(root) == before  # nothing written, nothing replaced
    assert not (root / "artifacts").exists()  # refused before training


def test_a_hand_written_page_or_asset_where_tinyreport_writes_is_refused(tmp_path):
    root = _project(tmp_path)
    card = root / "docs" / "report" / "models" / "mlp.md"
    card.parent.mkdir(parents=True)
    card.write_text("# My notes on the MLP\n")
    plotly = root / "docs" / site.PLOTLY_ASSET
    plotly.parent.mkdir(parents=True)
    plotly.write_text("console.log('my own plotly build');\n")
    with pytest.raises(ConfigError) as err:
        collect_mod.check_outputs(load_config(root / "tinyreport.toml"))
    assert str(err.value).splitlines()[1:] == [
        "Config value 'output.pages_dir': docs/report/models/mlp.md was not written by "
        "tinyreport (it lacks the generated mark); writing the pages there would replace it",
        "Config value 'output.docs_dir': docs/assets/vendor/plotly.min.js was not written by "
        "tinyreport (it lacks the generated mark); tinyreport owns that folder: move the file "
        "elsewhere",
    ]
    assert card.read_text() == "# My notes on the MLP\n"


def test_files_tinyreport_wrote_are_replaced_as_before(tmp_path, fixture_results):
    root = _project(tmp_path)
    config = load_config(root / "tinyreport.toml")
    site.write_pages(fixture_results, root / "docs" / "report")
    site.write_assets(root / "docs")
    (root / "docs" / "data").mkdir(parents=True)
    (root / "docs" / "data" / "results.json").write_text(dumps(fixture_results.to_dict()))
    collect_mod.check_outputs(config)  # no error
    # With --no-pages, pages_dir may hold anything: no page is written.
    (root / "docs" / "report" / "index.md").write_text("# mine\n")
    collect_mod.check_outputs(config, pages=False)
    with pytest.raises(ConfigError):
        collect_mod.check_outputs(config)


def test_a_hand_written_page_that_appears_during_the_run_is_not_replaced(tmp_path, fixture_results):
    """The check runs again when the pages are written: a file may appear during training."""
    pages_dir = tmp_path / "report"
    pages_dir.mkdir()
    (pages_dir / "index.md").write_text("# mine\n")
    with pytest.raises(OutputError) as err:
        site.write_pages(fixture_results, pages_dir)
    assert str(err.value).startswith(f"{pages_dir / 'index.md'} was not written by tinyreport")
    assert (pages_dir / "index.md").read_text() == "# mine\n"
    assert sorted(p.name for p in pages_dir.rglob("*")) == ["index.md"]


def test_merge_refuses_like_collect(tmp_path, fixture_results):
    root = _project(tmp_path, 'results = "README.md"')
    part = tmp_path / "part.json"
    part.write_text(dumps(fixture_results.to_dict()))
    proc = tinyreport(root, "merge", str(part), timeout=120)
    assert proc.returncode == 2
    assert "'output.results': README.md exists and is not a tinyreport results file" in (
        proc.stderr
    )
    assert (root / "README.md").read_text() == "# My project\n\nHand-written.\n"


def test_a_results_file_is_told_from_other_files_by_its_ends(tmp_path, fixture_results):
    ours = tmp_path / "results.json"
    ours.write_text(dumps(fixture_results.to_dict()))
    assert ours.stat().st_size > 2 * 4096  # the version key is at the end, past the first block
    assert is_results_file(ours)
    assert is_results_file(tmp_path / "absent.json")
    others = {
        "notes.json": json.dumps({"format": 1, "models": []}),
        "README.md": "# tinyreport_version\n",
        "empty.json": "",
        "list.json": '[{"tinyreport_version": "0.1.0"}]',
    }
    for name, text in others.items():
        (tmp_path / name).write_text(text)
        assert not is_results_file(tmp_path / name), name
    (tmp_path / "folder").mkdir()
    assert not is_results_file(tmp_path / "folder")


def test_page_names_are_the_pages_render_writes(fixture_results):
    names = [m.name for m in fixture_results.models]
    assert sorted(site.render(fixture_results)) == sorted(site.page_names(names))
