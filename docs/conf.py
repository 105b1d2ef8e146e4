"""Sphinx configuration of geoshape's documentation site.

Build (from the repository root; warnings are errors)::

    pip install -c constraints.txt -e '.[docs]'
    python -m sphinx -W -b html docs docs/_build/html

Sources: ``index.rst``, the Markdown pages of ``docs/`` (read by myst-parser), the API
reference ``api/*.rst`` (autosummary pages generated into ``api/generated/``) and the gallery
``examples/*.py`` (run by sphinx-gallery on every build, rendered into ``auto_examples/``).
``sweeps/`` (kept sweep outputs) is not part of the site.
"""

import os
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))          # the packages, even without an editable install

# The gallery trains small nets on one thread; numba and BLAS follow suit so that a build
# beside other work stays predictable.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "agg")

import geoshape  # noqa: E402
from sphinx.errors import PycodeError  # noqa: E402
from sphinx.pycode import ModuleAnalyzer  # noqa: E402

project = "geoshape"
author = "geoshape developers"
copyright = "geoshape developers"
version = release = geoshape.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",                  # math in docstrings and pages, if any
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# sweeps/: raw outputs of kept sweeps (their summary.md files are data, not pages);
# examples/: the gallery's sources (sphinx-gallery renders them into auto_examples/).
exclude_patterns = ["_build", "sweeps", "examples", "Thumbs.db", ".DS_Store"]

# -- autodoc / autosummary / numpydoc -------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"               # signatures and docstrings already say the types
autodoc_preserve_defaults = True         # show ``rng=None``, not an object's repr
numpydoc_show_class_members = False      # the class template lists the class's own members
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()       # the docstrings are documentation, not a lint target
numpydoc_xref_param_type = False
# Many class docstrings list their fields as "name: text" lines (Google-style "Args:" blocks,
# dataclass fields) and module docstrings are reST prose with their own section titles: the
# docstring hooks at the end of this file make both build; see setup().

# -- Markdown (myst-parser) ------------------------------------------------------------------
# The pages are plain Markdown (no "$" math), so no MyST extension is enabled.
myst_heading_anchors = 3

# -- sphinx-gallery --------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",        # every plot_*.py runs during the build
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "write_computation_times": False,     # no sg_execution_times.rst page in docs/
    "image_scrapers": ("matplotlib",),
}

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"geoshape {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# A matplotlib warning raised by an example would otherwise be printed in the gallery page.
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")


# "name: text" paragraphs (``Args:`` blocks, dataclass fields listed one a line, with indented
# continuation lines) are how many class docstrings document their fields; as reST they are a
# paragraph followed by an unexpected indentation. They become definition lists here: ``name``
# the term, ``text`` and its continuation lines the definition. Docstrings with numpydoc
# sections (an underlined title) are numpydoc's and are left alone.
_FIELD = re.compile(r"^(?P<indent> *)(?P<names>[A-Za-z_][\w.]*(?: *, *[A-Za-z_][\w.]*)*) *: +(?P<text>\S.*)$")
_UNDERLINE = re.compile(r"^ *(-{3,}|={3,}|~{3,}) *$")


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def fields_to_definition_lists(lines):
    """Rewrite the "name: text" items of a docstring (list of lines) as reST definition lists."""
    if any(_UNDERLINE.match(line) for line in lines):
        return list(lines)
    out, i, n = [], 0, len(lines)
    in_literal = None                    # indent of a ``::`` / doctest block being copied as is
    while i < n:
        line = lines[i]
        if in_literal is not None:
            if line.strip() and _indent(line) <= in_literal and not line.lstrip().startswith(">>>"):
                in_literal = None
            else:
                out.append(line)
                i += 1
                continue
        if line.rstrip().endswith("::") or line.lstrip().startswith(">>>"):
            in_literal = _indent(line)
            out.append(line)
            i += 1
            continue
        m = _FIELD.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        ind = len(m["indent"])
        body = [m["text"]]
        i += 1
        base = None                                  # indent of the first indented continuation
        while i < n and lines[i].strip():
            nxt = lines[i]
            k = _indent(nxt)
            if k < ind or (k == ind and _FIELD.match(nxt)) or (k == ind and nxt.lstrip().startswith(">>>")):
                break
            if k > ind:
                base = k if base is None else base
                body.append(" " * max(0, k - base) + nxt.strip())
            else:
                body.append(nxt.strip())
            i += 1
        if out and out[-1].strip():
            out.append("")
        out.append(" " * ind + m["names"])
        out.extend(" " * (ind + 4) + b for b in body)
        if i < n and lines[i].strip() and not _FIELD.match(lines[i]):
            out.append("")
    return out


def _data_comment(app, what, name, obj, options, lines):
    """A constant re-exported by a package (``validation.core.REGISTRY``) is documented by its
    ``#:`` comment in the module that defines it; autodoc looks in the package only and would
    show the docstring of the value's type (``dict``, ``int``) instead."""
    if what != "data":
        return
    package, _, attr = name.rpartition(".")
    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith(package + ".") or getattr(module, attr, None) is not obj:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except PycodeError:
            continue
        if ("", attr) in docs:
            lines[:] = list(docs[("", attr)])
            return
    if getattr(obj, "__doc__", None) is getattr(type(obj), "__doc__", None):
        lines[:] = []                    # no comment anywhere: better nothing than dict's help


def _fields(app, what, name, obj, options, lines):
    if what in ("class", "function", "method", "attribute", "data", "property"):
        lines[:] = fields_to_definition_lists(lines)


def _keep_module_docstring(app, what, name, obj, options, lines):
    """Module docstrings are reST prose with their own section titles ("Private library
    modules", ...); numpydoc would drop every section it does not know. Keep them as written."""
    if what != "module":
        return
    from sphinx.util.docstrings import prepare_docstring
    from sphinx.util.inspect import getdoc

    doc = getdoc(obj)
    if doc:
        lines[:] = prepare_docstring(doc)


def setup(app):
    # numpydoc mangles docstrings at the default priority (500): the field rewrite runs before
    # it, the module docstrings are restored after it.
    app.connect("autodoc-process-docstring", _data_comment, priority=300)
    app.connect("autodoc-process-docstring", _fields, priority=400)
    app.connect("autodoc-process-docstring", _keep_module_docstring, priority=900)
