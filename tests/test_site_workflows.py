"""The publishing workflows keep the invariants the Pages set-up needs (docs/publishing.md).

actionlint checks the syntax and expressions; these tests check the choices: one Pages set-up
(deploy from the gh-pages branch), main's deploy keeps pr-preview/, previews are built for their
own sub-path, cleaned up on close, and the built site is uploaded as an artifact.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"


def _load(name: str) -> dict:
    return yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def _uses(workflow: dict, action: str) -> list[dict]:
    return [s for s in _steps(workflow) if s.get("uses", "").split("@")[0] == action]


def test_main_deploys_to_gh_pages_without_wiping_previews():
    pages = _load("pages.yml")
    assert pages["on"]["push"]["branches"] == ["main"]
    (deploy,) = _uses(pages, "JamesIves/github-pages-deploy-action")
    assert deploy["with"]["branch"] == "gh-pages"
    assert deploy["with"]["clean-exclude"] == "pr-preview/"
    assert _uses(pages, "actions/upload-artifact")
    # One set-up only: no "GitHub Actions" Pages source actions mixed in.
    assert not _uses(pages, "actions/deploy-pages")
    assert not _uses(pages, "actions/upload-pages-artifact")


def test_previews_are_built_for_their_sub_path_and_cleaned_up():
    preview = _load("preview.yml")
    assert set(preview["on"]["pull_request"]["types"]) >= {"opened", "synchronize", "closed"}
    job = next(iter(preview["jobs"].values()))
    assert job["env"]["SITE_URL"].endswith("/pr-preview/pr-${{ github.event.number }}/")
    (action,) = _uses(preview, "rossjrw/pr-preview-action")
    assert action["with"]["umbrella-dir"] == "pr-preview"
    assert action["with"]["preview-branch"] == "gh-pages"
    assert action["with"]["action"] == "auto"  # deploys on open/sync, removes on close
    (upload,) = _uses(preview, "actions/upload-artifact")
    assert upload["with"]["path"] == "site/"
    assert preview["permissions"] == {"contents": "write", "pull-requests": "write"}


def test_mkdocs_reads_site_url_from_the_environment():
    text = (WORKFLOWS.parents[1] / "mkdocs.yml").read_text()
    assert 'site_url: !ENV [SITE_URL, "https://tinyml-lab.github.io/tinyreport/"]' in text


def test_workflows_pass_actionlint():
    actionlint = Path(sys.executable).parent / "actionlint"
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    proc = subprocess.run(
        [str(actionlint), "-no-color", *files], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_documented_matrix_workflow_and_the_scaffold_workflows_pass_actionlint(tmp_path):
    """The workflow `tinyreport init` writes and the matrix one in docs/publishing.md are real
    workflows: actionlint checks them like the repository's own."""
    from importlib.resources import files

    text = (WORKFLOWS.parents[1] / "docs" / "publishing.md").read_text()
    matrix = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "tinyreport merge parts/*.json" in matrix
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "matrix.yml").write_text(matrix)
    for name in ("pages.yml", "preview.yml"):
        text = (files("tinyreport.scaffold") / "workflows" / name).read_text()
        (folder / name).write_text(text)
    actionlint = Path(sys.executable).parent / "actionlint"
    proc = subprocess.run(
        [str(actionlint), "-no-color", *sorted(map(str, folder.glob("*.yml")))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
