"""MkDocs hook: lab notebook pages without mkdocs-jupyter's inline JupyterLab stylesheets.

mkdocs-jupyter inlines JupyterLab's whole stylesheet (574 KiB) and a light theme (10 KiB) into
every notebook page, with colours of their own. The site styles notebook cells itself (extra.css,
"Notebooks"), in the site's colours and both palettes, so this hook drops both. A notebook page
without them is an error: mkdocs-jupyter changed, and the page would be left half-styled.
"""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError

# JupyterLab's stylesheet and its light or dark theme, as mkdocs-jupyter 0.26 inlines them.
JUPYTERLAB_CSS = re.compile(
    r'<style type="text/css">\s*@charset "UTF-8";\.jupyter-wrapper\{--md-red-50:.*?</style>', re.S
)
THEME_CSS = re.compile(
    r'<style type="text/css">\s*\.jupyter-wrapper\{--jp-shadow-base-lightness:.*?</style>', re.S
)


def strip_jupyter_css(html: str) -> str:
    """Remove the inline JupyterLab stylesheet and theme from one notebook page."""
    html, n_lab = JUPYTERLAB_CSS.subn("", html)
    html, n_theme = THEME_CSS.subn("", html)
    if (n_lab, n_theme) != (1, 1):
        raise PluginError(
            f"notebook page: found {n_lab} JupyterLab stylesheet(s) and {n_theme} theme(s) "
            "where mkdocs-jupyter 0.26 inlines one of each; check tinyreport/site/notebook_css.py"
        )
    return html


def on_post_page(output: str, page, config) -> str:
    """Strip the JupyterLab CSS from notebook pages; leave every other page as it is."""
    if page.file.src_uri.endswith(".ipynb"):
        return strip_jupyter_css(output)
    return output
