"""Sphinx configuration of the aiida-lps documentation (MyST Markdown pages, CLI and API reference)."""

from __future__ import annotations

import aiida_lps

project = "aiida-lps"
author = "aiida-lps developers"
copyright = "aiida-lps developers, MIT licence"
release = aiida_lps.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx_click",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Type hints name AiiDA and pymatgen classes that are not in this site's inventory.
nitpicky = False

html_theme = "alabaster"
html_title = "aiida-lps"
html_static_path: list[str] = []

# Docstrings write |x| for absolute values and determinants (|det A|), which reStructuredText reads as
# substitutions: escape the bars before autodoc parses them.
suppress_warnings = ["ref.python"]  # classes re-exported by a package (aiida_lps.dft.DftEngine) have two targets


def _escape_bars(app, what, name, obj, options, lines):
    for index, line in enumerate(lines):
        if "|" in line and not line.lstrip().startswith(("+", "|")):
            lines[index] = line.replace("|", r"\|")


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
