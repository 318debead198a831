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


def _preview_page(tmp_path, base: dict, new: dict, collect_output: str) -> str:
    import json
    import os

    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "new.json").write_text(json.dumps(new))
    (tmp_path / "collect.txt").write_text(collect_output)
    env = {
        **os.environ,
        "RESULTS": str(tmp_path / "new.json"),
        "PAGE": str(tmp_path / "changes.md"),
        "PYTHON": sys.executable,
        "PYTHONPATH": str(WORKFLOWS.parents[1]),
    }
    script = WORKFLOWS.parents[1] / "scripts" / "preview-page"
    args = ["17", "0123456789abcdef", "base.json", "main", "collect.txt"]
    proc = subprocess.run(
        [str(script), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return (tmp_path / "changes.md").read_text()


def test_the_preview_compares_with_main_in_a_page_under_a_banner(tmp_path):
    import json

    base = json.loads(
        (WORKFLOWS.parents[1] / "tests" / "data" / "results_fixture.json").read_text()
    )
    new = json.loads(json.dumps(base))
    new["models"][0]["variants"]["tflite_int8"]["size_bytes"] += 16
    page = _preview_page(tmp_path, base, new, "rebuilt: nothing (all cached); results: x\n")
    name = new["models"][0]["name"]
    assert page.startswith("# What this pull request changes\n")
    assert '!!! warning "Preview of pull request #17 at commit `0123456789ab`"' in page
    assert "No model was trained for this preview" in page
    rows = [line for line in page.splitlines() if line.startswith(f"| {name} ")]
    assert len(rows) == 1 and "| tflite_int8 | size_bytes |" in rows[0] and "| +16 |" in rows[0]


def test_the_preview_says_when_it_trained(tmp_path):
    import json

    base = json.loads(
        (WORKFLOWS.parents[1] / "tests" / "data" / "results_fixture.json").read_text()
    )
    said = "rebuilt: mlp; trained and stored in models/store: mlp; results: x\n"
    page = _preview_page(tmp_path, base, base, said)
    assert '!!! note "Models trained for this preview"' in page
    assert "(models/store: mlp)" in page
    assert "No figure changed." in page


def test_the_preview_builds_the_changes_page_before_the_site():
    preview = _load("preview.yml")
    runs = [s.get("run", "") for s in _steps(preview)]
    page = next(i for i, r in enumerate(runs) if "scripts/preview-page" in r)
    build = next(i for i, r in enumerate(runs) if "mkdocs build" in r)
    collect = next(i for i, r in enumerate(runs) if "tinyreport collect" in r)
    assert collect < page < build
    assert "gh-pages" in runs[page]  # main's published results first
