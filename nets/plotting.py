"""Figures of trained models for anyone: latent traversals, reconstructions, the correlation of
the codes, an image profile.

Every function takes a model and arrays (never an experiment's results), draws a new
``matplotlib.figure.Figure`` and returns it; with ``path=`` it also saves it atomically
(:func:`geoshape.io.atomic_savefig`; the format follows the file name, PNG by default). The
figure is not registered with ``pyplot``: drawing switches no backend, leaves no global state,
needs no display and nothing has to be closed. matplotlib is imported when a figure is drawn,
not by ``import nets``.

Readable by construction: every image has a colour bar naming its quantity, axes carry their
units (pixels, standard deviations of a code), and the numbers written in a matrix are dark on
pale cells and white on dark ones (:func:`contrast_colour`).

- :func:`plot_traversals`: each latent component moved alone over +-``span`` standard
  deviations of its codes, the others held at the mean code (:func:`traversal_codes` gives the
  codes drawn);
- :func:`plot_reconstructions`: inputs above their reconstructions, with each image's MSE;
- :func:`plot_covariance`: the correlation matrix of codes, diverging colours centred at 0;
- :func:`plot_profile`: an image profile (e.g. a decoder's ``D(1)``) in pixel coordinates, with
  an optional radial cut against a reference curve (e.g. ``theory.airy_profile``).

Models are any ``torch.nn.Module`` with ``encode(x)`` (images ``(n, 1, s, s)`` -> codes
``(n, d)``) and ``decode(z)`` (codes -> images ``(n, 1, s, s)``): :class:`nets.PCAAE`,
:class:`nets.PlainAE`, :class:`nets.BetaVAE` (whose ``encode`` is the posterior mean),
:class:`nets.BetaTCVAE`. They run in eval mode, without gradients, on their own device; their
train/eval mode is restored afterwards.

Examples
--------
>>> m = nets.PlainAE(nets.ConvAEConfig(size=16, n_stages=2), seed=0)
>>> x = np.random.default_rng(0).random((10, 16, 16)).astype(np.float32)
>>> fig = plot_traversals(m, x, n_steps=5)
>>> len(fig.axes), traversal_codes(m, x, n_steps=5).shape   # 2 rows of 5 images + a colour bar
(11, (2, 5, 2))
>>> contrast_colour((1.0, 1.0, 1.0)), contrast_colour((0.0, 0.0, 0.3))
('black', 'white')
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import torch

from geoshape import checks
from geoshape.io import atomic_savefig

__all__ = ["plot_traversals", "traversal_codes", "plot_reconstructions", "plot_covariance", "plot_profile",
           "contrast_colour", "annotate_cells", "DPI", "MAX_ANNOTATED"]

#: Resolution of saved figures (dots per inch).
DPI = 110
#: Images (or codes) a model is given at a time.
BATCH = 256
#: Largest matrix whose cells are written in (beyond it the numbers would not fit the cells).
MAX_ANNOTATED = 24
#: WCAG relative luminance at which black and white text have the same contrast ratio with the
#: cell: ``(L + 0.05) / 0.05 == 1.05 / (L + 0.05)``.
_EQUAL_CONTRAST_LUMINANCE = 0.1791


# --------------------------------------------------------------------------- argument checks
def _path(path) -> None:
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str, an os.PathLike or None, got {type(path).__name__}")


def _model(model):
    """``model`` with ``encode``/``decode`` and at least one latent component; its latent size."""
    if not isinstance(model, torch.nn.Module) or not (callable(getattr(model, "encode", None))
                                                      and callable(getattr(model, "decode", None))):
        raise TypeError(f"model must be a torch.nn.Module with encode() and decode() (e.g. nets.PCAAE, "
                        f"nets.PlainAE, nets.BetaVAE), got {type(model).__name__}")
    d = getattr(model, "latent_dim", None)
    if d is not None and d < 1:
        raise ValueError("model has no latent component yet (a nets.PCAAE needs at least one stage)")
    return d


def _array(value, name: str, *, min_ndim: int, ndim_max: int) -> np.ndarray:
    """A finite float64 numpy array from a numpy array or a tensor (copied to the CPU)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or a torch.Tensor, got {type(value).__name__}")
    return checks.real_array(value, name, min_ndim=min_ndim, ndim_max=ndim_max)


def _images(value, model, name: str, min_n: int = 1) -> np.ndarray:
    """``(n, s, s)`` float64 images for ``model`` (``(n, 1, s, s)`` accepted)."""
    x = _array(value, name, min_ndim=3, ndim_max=4)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"{name} must have shape (n, s, s) or (n, 1, s, s), got {x.shape}")
        x = x[:, 0]
    if x.shape[0] < min_n or x.shape[1] != x.shape[2] or x.shape[1] < 1:
        raise ValueError(f"{name} must hold at least {min_n} square image(s) (n, s, s), got shape {x.shape}")
    size = getattr(getattr(model, "config", None), "size", None)
    if size is not None and x.shape[1] != size:
        raise ValueError(f"{name} must be {size} x {size} images (the model's config.size), got shape {x.shape}")
    return x


class _Evaluating:
    """Context: the model in eval mode without gradients; its mode is restored on exit."""

    def __init__(self, model):
        self.model, self.was = model, model.training

    def __enter__(self):
        self.model.eval()
        self.grad = torch.no_grad()
        self.grad.__enter__()
        return self

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        self.model.train(self.was)
        return False

    def _like(self, a: np.ndarray) -> torch.Tensor:
        p = next(self.model.parameters(), None)
        t = torch.from_numpy(np.ascontiguousarray(a, np.float32))
        return t if p is None else t.to(device=p.device, dtype=p.dtype)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes ``(n, d)`` float64 of images ``(n, s, s)``, :data:`BATCH` images at a time."""
        return np.concatenate([self.model.encode(self._like(x[i:i + BATCH, None])).double().cpu().numpy()
                               for i in range(0, len(x), BATCH)])

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Images ``(n, s, s)`` float64 of codes ``(n, d)``, :data:`BATCH` codes at a time."""
        return np.concatenate([self.model.decode(self._like(z[i:i + BATCH]))[:, 0].double().cpu().numpy()
                               for i in range(0, len(z), BATCH)])


# --------------------------------------------------------------------------- shared drawing
def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _done(fig, path):
    if path is not None:
        atomic_savefig(fig, path, dpi=DPI)
    return fig


def _grey_limits(*arrays: np.ndarray) -> tuple[float, float]:
    """[0, 1], widened to any value outside it (a linear decoder may overshoot)."""
    lo = min(0.0, *(float(a.min()) for a in arrays))
    hi = max(1.0, *(float(a.max()) for a in arrays))
    return lo, hi


def contrast_colour(rgba: Sequence[float]) -> str:
    """``"black"`` or ``"white"``: the text colour with the higher contrast on a cell of colour
    ``rgba`` (sRGB components in [0, 1]; alpha ignored), by the WCAG relative luminance
    ``L = 0.2126 R + 0.7152 G + 0.0722 B`` of the linearised channels. Dark text goes on pale
    cells (L > 0.179), white text on dark ones."""
    c = np.asarray(rgba, dtype=np.float64)[:3]
    if c.shape != (3,) or not np.all((c >= 0) & (c <= 1)):
        raise ValueError(f"rgba must be 3 or 4 colour components in [0, 1], got {rgba!r}")
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    return "black" if lum > _EQUAL_CONTRAST_LUMINANCE else "white"


def annotate_cells(ax, matrix: np.ndarray, image, *, fmt: str = "{:.2f}", fontsize: float = 8) -> None:
    """Write each value of ``matrix`` in its cell of ``image`` (the ``AxesImage`` drawn from it on
    ``ax``), in the colour that contrasts with the cell (:func:`contrast_colour`)."""
    rgba = image.cmap(image.norm(matrix))
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                color=contrast_colour(rgba[i, j]))


def _no_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------- traversals
def traversal_codes(model, images=None, *, n_steps: int = 7, span: float = 2.0,
                    components: Sequence[int] | None = None) -> np.ndarray:
    """The codes :func:`plot_traversals` decodes, ``(len(components), n_steps, d)`` float64.

    Row i moves component ``c = components[i]`` alone: ``mean + t * sd`` for ``t`` in
    ``linspace(-span, span, n_steps)``, every other component held at the mean code. ``mean``
    and ``sd`` are the mean and (population) standard deviation of ``model.encode(images)``; with
    ``images=None`` the mean is 0 and every sd 1 (the prior of a VAE, the unit-variance
    BatchNorm of a PCA-AE; for a plain AE pass images). Arguments as in :func:`plot_traversals`.
    """
    d = _model(model)
    n_steps = checks.integer(n_steps, "n_steps", lo=2, hi=101)
    span = checks.positive(span, "span")
    with _Evaluating(model) as ev:
        if images is None:
            if d is None:
                raise ValueError("images must be given for a model without a latent_dim attribute")
            mean, sd = np.zeros(d), np.ones(d)
        else:
            codes = ev.encode(_images(images, model, "images", min_n=2))
            mean, sd = codes.mean(axis=0), codes.std(axis=0)
            d = codes.shape[1]
    comps = _components(components, d)
    steps = np.linspace(-span, span, n_steps)
    out = np.tile(mean, (len(comps), n_steps, 1))
    for r, c in enumerate(comps):
        out[r, :, c] = mean[c] + steps * sd[c]
    return out


def _components(components, d: int) -> list[int]:
    if components is None:
        return list(range(d))
    if isinstance(components, (str, bytes)) or not isinstance(components, (Sequence, np.ndarray)):
        raise TypeError(f"components must be None or a sequence of component indices, got "
                        f"{type(components).__name__}")
    out = [checks.integer(c, "components", lo=0, hi=d - 1) for c in components]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"components must be distinct indices in [0, {d - 1}], at least one, got {components!r}")
    return out


def plot_traversals(model, images=None, *, n_steps: int = 7, span: float = 2.0,
                    components: Sequence[int] | None = None, path: str | os.PathLike | None = None):
    """Latent traversals: one row per component, moved alone over +-``span`` standard deviations.

    Args:
        model: a trained encoder/decoder module (:class:`nets.PCAAE`, :class:`nets.PlainAE`,
            :class:`nets.BetaVAE`, ...).
        images: ``(n, s, s)`` or ``(n, 1, s, s)`` array or tensor, n >= 2, of the model's size:
            the traversals start from their mean code and move each component by multiples of
            the standard deviation of its codes. None: start from the zero code with unit steps.
        n_steps: images per row, an int in [2, 101] (odd keeps the mean code in the middle).
        span: how far each component goes, in standard deviations, a real > 0.
        components: 0-based indices of the components to traverse (rows, in that order);
            None: all of them.
        path: where to save the figure (atomically), or None.

    Cell (i, j) shows ``model.decode(traversal_codes(...)[i, j])``; the cell's title states the
    value of the moved component, the row label its mean and standard deviation. Returns the
    Figure: ``len(components) * n_steps`` image axes and one colour bar (grey level).
    """
    _path(path)
    codes = traversal_codes(model, images, n_steps=n_steps, span=span, components=components)
    rows, cols, d = codes.shape
    comps = _components(components, d)
    with _Evaluating(model) as ev:
        flat = ev.decode(codes.reshape(rows * cols, d))  # (rows * cols, s, s)
    decoded = flat.reshape(rows, cols, *flat.shape[1:])
    lo, hi = _grey_limits(decoded)
    steps = np.linspace(-span, span, cols)
    fig = _figure(1.15 * cols + 1.6, 1.2 * rows + 1.1)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, c in enumerate(comps):
        centre = float(np.mean(codes[r, :, c]))  # the steps are symmetric about the mean
        sd = (codes[r, -1, c] - codes[r, 0, c]) / (2 * span)
        for j in range(cols):
            ax = axes[r, j]
            im = ax.imshow(decoded[r, j], cmap="gray", vmin=lo, vmax=hi)
            _no_ticks(ax)
            ax.set_title(f"z{c + 1} = {codes[r, j, c]:.2f}", fontsize=7)
            if r == rows - 1:
                ax.set_xlabel(f"{steps[j]:+.2g} sd", fontsize=7)
        axes[r, 0].set_ylabel(f"z{c + 1}\nmean {centre:.2f}\nsd {sd:.2f}", fontsize=7)
    fig.colorbar(im, ax=axes, label="grey level", shrink=0.8)
    start = "the mean code of the images" if images is not None else "the zero code"
    fig.suptitle(f"{type(model).__name__}: each component moved alone from {start}", fontsize=9)
    fig.supxlabel(f"offset from the mean, in standard deviations of the component's codes (+-{span:g})",
                  fontsize=8)
    return _done(fig, path)


# --------------------------------------------------------------------------- reconstructions
def plot_reconstructions(model, images, *, n: int = 8, path: str | os.PathLike | None = None):
    """The first ``n`` of ``images`` (top row) above ``model``'s reconstructions (bottom row),
    each reconstruction titled with its per-pixel MSE.

    ``images``: ``(m, s, s)`` or ``(m, 1, s, s)`` array or tensor of the model's size; ``n``: an
    int >= 1 (all images if there are fewer). Returns the Figure: ``2 * min(n, m)`` image axes
    and one colour bar (grey level), inputs and reconstructions on one grey scale."""
    _model(model)
    _path(path)
    n = checks.integer(n, "n", lo=1)
    x = _images(images, model, "images")[:n]
    with _Evaluating(model) as ev:
        rec = ev.decode(ev.encode(x))
    mse = np.mean((rec - x) ** 2, axis=(1, 2))
    lo, hi = _grey_limits(x, rec)
    m = len(x)
    fig = _figure(1.3 * m + 1.4, 3.2)
    axes = fig.subplots(2, m, squeeze=False)
    for j in range(m):
        im = axes[0, j].imshow(x[j], cmap="gray", vmin=lo, vmax=hi)
        axes[1, j].imshow(rec[j], cmap="gray", vmin=lo, vmax=hi)
        axes[0, j].set_title(f"image {j}", fontsize=7)
        axes[1, j].set_title(f"MSE {mse[j]:.2e}", fontsize=7)
        _no_ticks(axes[0, j])
        _no_ticks(axes[1, j])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("reconstruction", fontsize=8)
    fig.colorbar(im, ax=axes, label="grey level", shrink=0.8)
    fig.suptitle(f"{type(model).__name__}: reconstructions (mean per-pixel MSE {mse.mean():.2e})", fontsize=9)
    return _done(fig, path)


# --------------------------------------------------------------------------- correlation of the codes
def _correlation(z: np.ndarray) -> np.ndarray:
    """Pearson correlation matrix; a constant component gets 0 off the diagonal, 1 on it."""
    zc = z - z.mean(axis=0)
    cov = zc.T @ zc / len(z)
    sd = np.sqrt(np.diag(cov))
    alive = sd > 1e-12 * (np.abs(z).max(axis=0) + 1e-300)
    out = np.zeros_like(cov)
    idx = np.flatnonzero(alive)
    out[np.ix_(idx, idx)] = cov[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
    np.fill_diagonal(out, 1.0)
    return np.clip(out, -1.0, 1.0)


def plot_covariance(codes, *, labels: Sequence[str] | None = None, path: str | os.PathLike | None = None):
    """The correlation matrix of ``codes`` (n, d) (array or tensor, n >= 2, finite): a diverging
    map centred at 0 (-1 blue, +1 red) with its colour bar, each value written in its cell (up to
    :data:`MAX_ANNOTATED` components) in the colour that contrasts with the cell. ``labels``: d
    names of the components (default z1 .. zd). A constant component correlates 0 with the
    others. Returns the Figure: the matrix and its colour bar (2 axes)."""
    _path(path)
    z = _array(codes, "codes", min_ndim=2, ndim_max=2)
    if z.shape[0] < 2 or z.shape[1] < 1:
        raise ValueError(f"codes must be (n, d) with n >= 2 codes and d >= 1 components, got shape {z.shape}")
    d = z.shape[1]
    if labels is None:
        labels = [f"z{i + 1}" for i in range(d)]
    elif isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence) or \
            not all(isinstance(s, str) for s in labels):
        raise TypeError(f"labels must be None or a sequence of {d} str, got {labels!r}")
    elif len(labels) != d:
        raise ValueError(f"labels must name the {d} components, got {len(labels)} labels")
    corr = _correlation(z)
    side = max(3.6, 0.5 * d + 1.8)
    fig = _figure(side + 0.9, side)
    ax = fig.subplots()
    im = ax.imshow(corr, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    if d <= MAX_ANNOTATED:
        annotate_cells(ax, corr, im, fontsize=max(5.0, 9.0 - d / 4))
    ax.set_xticks(range(d), labels, rotation=45 if d > 8 else 0)
    ax.set_yticks(range(d), labels)
    ax.set_xlabel("component")
    ax.set_ylabel("component")
    ax.set_title(f"correlation of the codes (n = {z.shape[0]})", fontsize=9)
    fig.colorbar(im, ax=ax, label="Pearson correlation", shrink=0.85)
    return _done(fig, path)


# --------------------------------------------------------------------------- profile
def _radial_cut(img: np.ndarray, pixel_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Values on the half-line from the image centre ``((w-1)/2, (h-1)/2)`` towards +x, at
    distances in pixels; an even height averages the two rows the centre lies between."""
    h, w = img.shape
    cx = (w - 1) / 2
    row = img[h // 2] if h % 2 else 0.5 * (img[h // 2 - 1] + img[h // 2])
    j = np.arange(int(np.ceil(cx)), w)
    return (j - cx) * pixel_size, row[j]


def _reference(reference, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if callable(reference):
        rr = np.linspace(0.0, float(r.max()), 256)
        f = np.asarray(reference(rr), dtype=np.float64)
        if f.shape != rr.shape or not np.all(np.isfinite(f)):
            raise ValueError(f"reference(r) must return finite values shaped like r {rr.shape}, got shape {f.shape}")
        return rr, f
    if isinstance(reference, (tuple, list)) and len(reference) == 2:
        rr = checks.real_array(reference[0], "reference[0] (radii)", ndim=1)
        f = checks.real_array(reference[1], "reference[1] (values)", ndim=1)
        if rr.shape != f.shape or rr.size < 1:
            raise ValueError(f"reference must be (radii, values) of one length >= 1, got {rr.shape} and {f.shape}")
        return rr, f
    raise TypeError(f"reference must be None, a callable f(r) or a pair (radii, values), "
                    f"got {type(reference).__name__}")


def plot_profile(profile, *, pixel_size: float = 1.0, reference: Callable | tuple | None = None,
                 path: str | os.PathLike | None = None):
    """An image profile (e.g. a decoder's output ``D(1)``) with its colour bar, axes in pixels.

    Args:
        profile: a 2-D finite array or tensor ``(h, w)``; pixel (i, j) is drawn at
            ``(x, y) = (j, i) * pixel_size`` (docs/conventions.md), y pointing down.
        pixel_size: the side of one sample of ``profile`` in pixels, a real > 0 (1: one sample a
            pixel; 0.5: a profile sampled twice as finely), so the axes read in pixels.
        reference: None, or a curve to hold the radial cut against: a callable ``f(r)`` of
            distances in pixels (e.g. ``lambda r: theory.airy_profile(r, R)``) or a pair
            ``(radii, values)``. With it a second panel plots the cut of ``profile`` along +x
            from its centre ``((w-1)/2, (h-1)/2)`` (an even height averages the two central
            rows) against the reference, values as given (normalise both alike beforehand).
        path: where to save the figure (atomically), or None.

    Colours: diverging and centred at 0 when the profile takes both signs, sequential
    otherwise. Returns the Figure: the image, its colour bar and, with ``reference``, the cut
    (2 or 3 axes)."""
    _path(path)
    img = _array(profile, "profile", min_ndim=2, ndim_max=2)
    if min(img.shape) < 1:
        raise ValueError(f"profile must be a non-empty 2-D array (h, w), got shape {img.shape}")
    pixel_size = checks.positive(pixel_size, "pixel_size")
    h, w = img.shape
    if reference is not None and w < 2:
        raise ValueError(f"profile needs at least 2 columns for a radial cut, got shape {img.shape}")
    fig = _figure(8.6 if reference is not None else 4.6, 3.8)
    axes = fig.subplots(1, 2 if reference is not None else 1, squeeze=False)[0]
    ax = axes[0]
    lo, hi = float(img.min()), float(img.max())
    if lo < 0 < hi:
        lim = max(-lo, hi)
        kw = {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
    else:
        kw = {"cmap": "viridis", "vmin": lo, "vmax": hi if hi > lo else lo + 1.0}
    extent = (-0.5 * pixel_size, (w - 0.5) * pixel_size, (h - 0.5) * pixel_size, -0.5 * pixel_size)
    im = ax.imshow(img, extent=extent, interpolation="nearest", **kw)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"profile ({h} x {w} samples)", fontsize=9)
    fig.colorbar(im, ax=ax, label="value", shrink=0.85)
    if reference is not None:
        r, v = _radial_cut(img, pixel_size)
        rr, f = _reference(reference, r)
        cut = axes[1]
        cut.plot(r, v, "o", ms=3, label="profile, cut along +x from the centre")
        cut.plot(rr, f, "-", lw=1.5, label="reference")
        cut.axhline(0.0, color="0.6", lw=0.8)
        cut.set_xlabel("distance from the centre r (pixels)")
        cut.set_ylabel("value")
        cut.set_title("radial cut", fontsize=9)
        cut.legend(fontsize=8)
    return _done(fig, path)
