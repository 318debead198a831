"""MkDocs hook (mkdocs.yml `hooks:`): the code is tinyreport.site.notebook_css.

A file of its own beside mkdocs.yml, because MkDocs takes hooks by path; a project copied
elsewhere (the tests' small projects) copies this folder with mkdocs.yml.
"""

from tinyreport.site.notebook_css import on_post_page

__all__ = ["on_post_page"]
