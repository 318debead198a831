"""Benchmark `mkdocs build` of a collected project, and weigh the site it builds."""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.timing import time_command

PAGE_LIMIT_BYTES = 1_000_000
SHARED = ("assets/vendor/plotly.min.js",)  # the one file exempt from the page limit
PAGE_SUFFIXES = (".html", ".json")  # pages, the results file, the search index


def build_cmd(site_dir: Path) -> list[str]:
    """`mkdocs build --strict` into `site_dir`."""
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)]


def weigh(site_dir: Path) -> dict:
    """Sizes of the built site: total, heaviest page, heaviest files, files over the limit.

    The limit applies to what tinyreport and MkDocs generate per site: HTML pages and JSON
    (results, search index). The theme's own scripts and source maps are listed separately.
    """
    files = sorted(
        (p.relative_to(site_dir).as_posix(), p.stat().st_size)
        for p in site_dir.rglob("*")
        if p.is_file()
    )
    pages = [(rel, n) for rel, n in files if rel.endswith(".html")]
    heaviest_page = max(pages, key=lambda x: x[1])
    by_size = sorted(files, key=lambda x: (-x[1], x[0]))
    return {
        "total_bytes": sum(n for _, n in files),
        "n_files": len(files),
        "n_pages": len(pages),
        "heaviest_page": {"path": heaviest_page[0], "bytes": heaviest_page[1]},
        "heaviest_files": [{"path": rel, "bytes": n} for rel, n in by_size[:8]],
        "heaviest_generated": max(
            ({"path": rel, "bytes": n} for rel, n in files if rel.endswith(PAGE_SUFFIXES)),
            key=lambda f: f["bytes"],
        ),
        "over_limit": [
            {"path": rel, "bytes": n}
            for rel, n in by_size
            if n > PAGE_LIMIT_BYTES and rel.endswith(PAGE_SUFFIXES) and rel not in SHARED
        ],
        "other_over_limit": [
            {"path": rel, "bytes": n}
            for rel, n in by_size
            if n > PAGE_LIMIT_BYTES and not rel.endswith(PAGE_SUFFIXES) and rel not in SHARED
        ],
        "limit_bytes": PAGE_LIMIT_BYTES,
    }


def run(project: Path, quick: bool, log=print) -> dict:
    """Build the project's site `repeat` times; return the times and the site's weight."""
    n_runs = 1 if quick else 5
    site_dir = project / "site"
    log(f"mkdocs: {n_runs} builds")
    build = time_command(build_cmd(site_dir), project, n_runs)
    return {"build": build, "site": weigh(site_dir)}
