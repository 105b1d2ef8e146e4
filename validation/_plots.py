"""Figure helpers shared by the experiments: matplotlib on the Agg backend, atomic PNG
output, grids of grey images, and the PCA-AE figures (latent navigation, matrices of
numbers, ordering curves, code scatter plots). Every figure is drawn from data the
experiment has already saved or returned."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from geoshape.io import atomic_savefig

__all__ = ["pyplot", "finish", "save_image_rows", "mosaic", "plot_navigation", "plot_matrices", "plot_ordering",
           "plot_scatter"]


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (figures are only saved)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def finish(fig, path, *, dpi: int) -> None:
    """Lay out ``fig`` (tight layout, unless it was made with a layout engine such as
    ``layout="constrained"``), save it to ``path`` atomically (PNG) and close it."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    atomic_savefig(fig, path, dpi=dpi)
    pyplot().close(fig)


def save_image_rows(rows, titles, path, suptitle: str, *, dpi: int = 90) -> None:
    """A grid of grey images in [0, 1]: one row per ``(label, images)`` pair of ``rows``, one
    column per entry of ``titles``; saved to ``path`` atomically (PNG)."""
    n = len(titles)
    fig, axes = pyplot().subplots(len(rows), n, figsize=(1.3 * n, 1.4 * len(rows)), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
            if r == 0:
                ax.set_title(titles[c], fontsize=7)
    fig.suptitle(suptitle, fontsize=8)
    finish(fig, path, dpi=dpi)


def mosaic(grid: np.ndarray, pad: int = 1) -> np.ndarray:
    """One image of a ``(rows, cols, s, s)`` grid of images, ``pad`` white pixels between them."""
    d, n, s, _ = grid.shape
    out = np.ones((d * (s + pad) - pad, n * (s + pad) - pad))
    for i in range(d):
        for j in range(n):
            out[i * (s + pad) : i * (s + pad) + s, j * (s + pad) : j * (s + pad) + s] = grid[i, j]
    return out


def plot_navigation(grids: dict[str, np.ndarray], path: Path, title: str) -> None:
    """One panel per model: its navigation grid (row i sweeps component i)."""
    plt = pyplot()
    rows = max(g.shape[0] for g in grids.values())
    cols = max(g.shape[1] for g in grids.values())
    fig, axes = plt.subplots(1, len(grids), figsize=(4.2 * len(grids), 4.2 * rows / cols + 1.0), squeeze=False)
    for ax, (name, g) in zip(axes[0], grids.items()):
        ax.imshow(mosaic(g), cmap="gray", vmin=0.0, vmax=max(1.0, float(g.max())))
        ax.set_title(name)
        ax.set_xticks([])
        s = g.shape[2]
        ax.set_yticks([(i + 0.5) * (s + 1) for i in range(g.shape[0])])
        ax.set_yticklabels([f"z{i + 1}" for i in range(g.shape[0])])
        ax.set_xlabel("component value: 5 % -> 95 % quantile")
    fig.suptitle(title)
    finish(fig, path, dpi=110)


def plot_matrices(mats: dict[str, np.ndarray], path: Path, title: str, *, row_labels: Sequence[str] | None = None,
                  vmin: float | None = 0.0, vmax: float | None = 1.0, cmap: str = "viridis",
                  cbar_label: str = "value") -> None:
    """One panel per model: a matrix (rows: ``row_labels`` or z_i; columns z_j) with its values
    written in, each in the colour that contrasts with its cell (``nets.plotting.annotate_cells``:
    dark on pale cells, white on dark ones), and a colour bar labelled ``cbar_label``.
    ``vmin``/``vmax`` None means symmetric about 0 (pass a diverging ``cmap``, e.g. ``"RdBu_r"``:
    0 is then its pale middle)."""
    from nets.plotting import annotate_cells

    plt = pyplot()
    fig, axes = plt.subplots(1, len(mats), figsize=(4.4 * len(mats), 3.6), squeeze=False, layout="constrained")
    for ax, (name, m) in zip(axes[0], mats.items()):
        lim = float(np.abs(m).max()) or 1.0
        im = ax.imshow(m, cmap=cmap, vmin=-lim if vmin is None else vmin, vmax=lim if vmax is None else vmax)
        annotate_cells(ax, m, im, fontsize=8)
        ax.set_xticks(range(m.shape[1]))
        ax.set_xticklabels([f"z{j + 1}" for j in range(m.shape[1])])
        ax.set_yticks(range(m.shape[0]))
        ax.set_yticklabels(row_labels if row_labels is not None else [f"z{i + 1}" for i in range(m.shape[0])])
        ax.set_title(name)
        fig.colorbar(im, ax=ax, label=cbar_label, shrink=0.8)
    fig.suptitle(title)
    finish(fig, path, dpi=110)


def plot_ordering(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """Reconstruction error against latent size, one curve per ``{name: (dims, errors)}``."""
    fig, ax = pyplot().subplots(figsize=(5, 3.6))
    for name, (dims, errs) in curves.items():
        ax.plot(dims, errs, "o-", label=name)
    ax.set_xlabel("latent components")
    ax.set_ylabel("per-pixel MSE (test)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(title)
    finish(fig, path, dpi=110)


def plot_scatter(codes: dict[str, np.ndarray], factors: np.ndarray, factor_names: Sequence[str], path: Path,
                 title: str, max_points: int = 1000) -> None:
    """One column per model, one row per factor: z1 vs z2 coloured by the factor."""
    nf = len(factor_names)
    fig, axes = pyplot().subplots(nf, len(codes), figsize=(3.2 * len(codes), 3.0 * nf), squeeze=False)
    for j, (name, z) in enumerate(codes.items()):
        n = min(max_points, len(z))
        for i, fname in enumerate(factor_names):
            ax = axes[i, j]
            y = z[:n, 1] if z.shape[1] > 1 else np.zeros(n)
            sc = ax.scatter(z[:n, 0], y, c=factors[:n, i], s=4, cmap="viridis")
            ax.set_xlabel("z1")
            ax.set_ylabel("z2")
            if i == 0:
                ax.set_title(name)
            fig.colorbar(sc, ax=ax, label=fname)
    fig.suptitle(title)
    finish(fig, path, dpi=100)
