"""Scaffold a new tinyreport project: configuration, MkDocs site, workflows, .gitignore."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from tinyreport.errors import OutputError
from tinyreport.fsutil import output_problem, publish, reason

# Where each packaged file goes in the new project; the two marked True get the project's name.
LAYOUT: dict[str, tuple[str, bool]] = {
    "tinyreport.toml": ("tinyreport.toml", False),
    "mkdocs.yml": ("mkdocs.yml", True),
    "docs/index.md": ("docs/index.md", True),
    "gitignore": (".gitignore", False),
    "requirements.txt": ("requirements.txt", False),
    "workflows/pages.yml": (".github/workflows/pages.yml", False),
    "workflows/preview.yml": (".github/workflows/preview.yml", False),
}


def scaffold_files(folder: Path) -> dict[Path, bytes]:
    """The new project's files by path, with the folder's name as the site's name."""
    from tinyreport.site.render import asset_files

    source = files("tinyreport.scaffold")
    name = folder.resolve().name or "tinyreport"
    out: dict[Path, bytes] = {}
    for packaged, (target, named) in LAYOUT.items():
        text = (source / packaged).read_text(encoding="utf-8")
        if named:
            # JSON strings are valid YAML scalars; in Markdown the name is a heading's text.
            site_name = json.dumps(f"{name} tinyreport") if target.endswith(".yml") else name
            text = text.replace("{{ site_name }}", site_name).replace("{{ folder }}", name)
        out[folder / target] = text.encode("utf-8")
    out.update(asset_files(folder / "docs"))
    return out


def init(folder: Path) -> str:
    """Write a working project into `folder`; refuse, before writing anything, to replace a file.

    Return a summary naming what was written and the next commands.
    """
    planned = scaffold_files(folder)
    existing = sorted(p for p in planned if p.exists() or p.is_symlink())
    if existing:
        shown = ", ".join(_shown(p, folder) for p in existing)
        raise OutputError(
            f"tinyreport init writes no file that exists already, and these do: {shown}; "
            "move them away or pick an empty folder"
        )
    problem = output_problem(folder, True)
    if problem is not None:
        raise OutputError(f"cannot write a project into {folder}: {problem}")
    try:
        publish(planned, name=lambda p: _shown(p, folder))
    except OSError as exc:
        raise OutputError(f"cannot write the project into {folder}: {reason(exc)}") from None
    return (
        f"wrote {len(planned)} files into {folder}; next: edit tinyreport.toml, then run "
        "`tinyreport collect && mkdocs build`"
    )


def _shown(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)
