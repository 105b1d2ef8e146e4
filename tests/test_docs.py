"""The documentation site: its sources are complete and it builds with warnings as errors.

Fast tests read the sources only: every gallery example has a title, every Markdown page of
``docs/`` (kept sweeps excepted) is reachable from the root toctree, and every public name of
the four packages has an entry in the API reference. The slow test builds the whole site
(``python -m sphinx -W -b html docs OUT``, gallery examples included) into a temporary folder.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
# Folders of docs/ that are not hand-written pages: build output, generated pages, gallery
# sources and output, kept sweep outputs (conf.py's exclude_patterns and generated folders).
NOT_PAGES = ("_build", "sweeps", "examples", "auto_examples", "api/generated", "_templates", "_static")
PUBLIC_PACKAGES = ("geoshape", "theory", "nets", "validation.core")
SITE_EXTENSIONS = ("sphinx", "numpydoc", "myst_parser", "sphinx_gallery", "pydata_sphinx_theme")


def _example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("plot_*.py"))


def _docname(path: Path) -> str:
    return path.relative_to(DOCS).with_suffix("").as_posix()


def _source_pages() -> dict[str, Path]:
    """docname -> file, for every .rst / .md page under docs/ that Sphinx reads as written."""
    pages = {}
    for path in sorted(DOCS.rglob("*")):
        rel = path.relative_to(DOCS).as_posix()
        if path.suffix not in (".rst", ".md") or any(rel == p or rel.startswith(p + "/") for p in NOT_PAGES):
            continue
        pages[_docname(path)] = path
    return pages


def _toctree_entries(path: Path) -> list[tuple[str, bool]]:
    """(entry, glob) for each toctree entry of a page: reST ``.. toctree::`` blocks and MyST
    ``{toctree}`` fences. Options (``:maxdepth: 2``) and blank lines are skipped."""
    text = path.read_text(encoding="utf-8")
    entries = []
    if path.suffix == ".rst":
        blocks = re.findall(r"^\.\. toctree::[^\n]*\n((?:[ \t]+[^\n]*\n|[ \t]*\n)*)", text, flags=re.M)
    else:
        blocks = re.findall(r"^(?:```|:::)\{toctree\}[^\n]*\n(.*?)^(?:```|:::)", text, flags=re.M | re.S)
    for block in blocks:
        lines = [line.strip() for line in block.splitlines()]
        glob = ":glob:" in lines
        for line in lines:
            if not line or line.startswith(":"):
                continue
            target = re.sub(r"^.*<(.+)>$", r"\1", line)           # "Title <docname>"
            entries.append((target, glob))
    return entries


def _reachable(pages: dict[str, Path]) -> set[str]:
    """Docnames reachable from ``index`` through toctrees (generated pages count as leaves)."""
    seen, todo = {"index"}, ["index"]
    while todo:
        doc = todo.pop()
        if doc not in pages:
            continue
        base = doc.rpartition("/")[0]
        for target, glob in _toctree_entries(pages[doc]):
            name = target.lstrip("/") if target.startswith("/") else (f"{base}/{target}" if base else target)
            name = re.sub(r"\.(rst|md)$", "", name)
            if glob:
                hits = [d for d in pages if d != doc and fnmatch.fnmatchcase(d, name)
                        and d.count("/") == name.count("/")]
            else:
                hits = [name]
            for hit in hits:
                if hit not in seen:
                    seen.add(hit)
                    todo.append(hit)
    return seen


def test_every_example_has_a_docstring_title():
    files = _example_files()
    assert len(files) >= 5, f"expected the five gallery examples, found {[f.name for f in files]}"
    for path in files:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=True)
        assert doc, f"{path.name}: no module docstring (sphinx-gallery takes its title from it)"
        lines = doc.splitlines()
        assert len(lines) >= 3 and lines[0].strip(), f"{path.name}: the docstring must open with a title"
        title, underline = lines[0].rstrip(), lines[1].rstrip()
        assert set(underline) == {"="} and len(underline) >= len(title), \
            f"{path.name}: title {title!r} must be underlined with '=' at least as long (got {underline!r})"
        assert any(line.strip() for line in lines[2:]), f"{path.name}: the title needs a paragraph below it"


def test_gallery_has_a_readme():
    assert (EXAMPLES / "README.txt").is_file() or (EXAMPLES / "README.rst").is_file()


def test_every_markdown_page_is_in_a_toctree():
    pages = _source_pages()
    markdown = sorted(d for d, p in pages.items() if p.suffix == ".md")
    assert "conventions" in markdown and any(d.startswith("results/") for d in markdown), markdown
    reachable = _reachable(pages)
    missing = [d for d in markdown if d not in reachable]
    assert not missing, f"Markdown pages reachable from no toctree of docs/index.rst: {missing}"


def test_toctree_parser_follows_globs_and_titles(tmp_path, monkeypatch):
    # The reachability check itself, on a small tree: a glob, a "Title <name>" entry, a nested page.
    (tmp_path / "results").mkdir()
    (tmp_path / "index.rst").write_text(".. toctree::\n   :glob:\n\n   results/*\n   Guide <guide>\n")
    (tmp_path / "guide.md").write_text("# Guide\n\n```{toctree}\nnested\n```\n")
    for name in ("results/a.md", "nested.md", "orphan.md"):
        (tmp_path / name).write_text("# page\n")
    monkeypatch.setattr(sys.modules[__name__], "DOCS", tmp_path)
    assert _reachable(_source_pages()) == {"index", "results/a", "guide", "nested"}


def _api_entries() -> set[str]:
    """Fully qualified names listed in the autosummary tables of docs/api/*.rst."""
    names = set()
    for path in sorted((DOCS / "api").glob("*.rst")):
        module = None
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            m = re.match(r"^\.\. currentmodule:: (\S+)", line)
            if m:
                module = m.group(1)
            if line.startswith(".. autosummary::"):
                for entry in lines[i + 1:]:
                    if entry and not entry.startswith(" "):
                        break
                    entry = entry.strip()
                    if entry and not entry.startswith(":"):
                        names.add(f"{module}.{entry.lstrip('~')}")
    return names


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_name_is_in_the_api_reference(package):
    listed = _api_entries()
    public = importlib.import_module(package).__all__
    missing = [name for name in public if f"{package}.{name}" not in listed]
    assert not missing, f"{package}.__all__ names with no autosummary entry in docs/api/*.rst: {missing}"


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_site_builds_with_warnings_as_errors(tmp_path):
    for name in SITE_EXTENSIONS:
        pytest.importorskip(name, reason=f"{name} is not installed: pip install -e '.[docs]'")
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"sphinx -W failed (rc {proc.returncode}):\n{proc.stderr[-6000:]}"
    assert (out / "index.html").is_file()
    assert (out / "api" / "generated" / "geoshape.disks.html").is_file()
    assert (out / "conventions.html").is_file() and (out / "results" / "disk_vs_airy.html").is_file()
    gallery = out / "auto_examples" / "plot_1_disk_airy.html"
    assert gallery.is_file()
    # the example ran: its page embeds the figures the build rendered
    assert list((out / "_images").glob("sphx_glr_plot_1_disk_airy_*.png")), "gallery figures not rendered"
    assert "Airy" in gallery.read_text(encoding="utf-8")


def test_every_results_page_quotes_its_kept_sweeps_as_their_summaries_give():
    """The generated block of each results page equals what the kept sweeps' summary.json
    give (``python -m validation.runners.pages`` rewrites it)."""
    from validation.runners import pages

    stale = pages.update(ROOT, check=True)
    assert not stale, f"run python -m validation.runners.pages: stale {[p.name for p in stale]}"


def test_pages_block_from_a_hand_made_sweep(tmp_path):
    """A sweep folder of two seeds: the block gives the median [min, max] by hand, replaces only
    the text between the markers, and --check finds a hand-edited block stale."""
    import json

    from validation.runners import pages
    from validation.runners import summary as S

    sweep = tmp_path / "docs" / "sweeps" / "kept"
    for s, v in ((0, 0.2), (1, 0.6)):
        d = sweep / "default" / f"seed={s}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({"pca_ae.on_target.grey": v, "seconds.total": 3.0}))
    (sweep / "sweep.json").write_text(json.dumps({"experiment": "pca_ae_grey_disks", "quick": False}))
    S.summarize(sweep, importlib.import_module("validation.pca_ae_grey_disks"), write=True)
    page = tmp_path / "docs" / "results" / "pca_ae_grey_disks.md"
    page.parent.mkdir(parents=True)
    page.write_text(f"# Title\n\nbefore\n\n{pages.BEGIN}\nold\n{pages.END}\n\nafter\n")
    assert pages.update(tmp_path, check=True) == [page]
    assert pages.update(tmp_path) == [page]
    text = page.read_text()
    assert "| `pca_ae.on_target.grey` | 0.400 [0.200, 0.600] | 2 |" in text
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n") and "old" not in text
    assert "seconds.total" not in text
    assert pages.update(tmp_path, check=True) == []
    page.write_text(text.replace("0.400 [", "0.500 ["))
    assert pages.main(["--check", "--root", str(tmp_path)]) == 1
    with pytest.raises(ValueError, match="root must be a repository"):
        pages.update(tmp_path / "nowhere")
