"""Sphinx configuration: MyST Markdown pages, nitpicky, warnings are errors (tox -e docs)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import glidein_singularity  # noqa: E402

project = "glidein-singularity"
author = "glidein-singularity developers"
release = glidein_singularity.__version__
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = True
