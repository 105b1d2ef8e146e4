"""Placing an object: trained decoders against the constructed one, on CoordConv's splits.

    python -m validation.position_placement [--quick] [--seed S] [--out DIR] [--FIELD value ...]
    python -m validation.runners.sweep position_placement --seeds 0:5      # the same over seeds

The talk's open question, "How does the autoencoder place an object in an image?".
:mod:`theory.placement` answers it by construction (zero insertion, short filters and ReLU
build the eq.-13 Dirac exactly; a fixed template turns it into the object). Here decoders
(``nets.PlacementDecoder``: ``zero_pad``, ``circular``, ``coordconv``) are trained to map a 2-D
position to a blurred disk on CoordConv's ``uniform`` and ``quadrant`` splits and held against
the construction (``constructed``): centroid error and MSE on seen and held-out positions,
sub-pixel equivariance (EQ-T, dB), and per layer a position probe and the best channel's
correlation with the construction's coarse Dirac and with the object.

Outputs in ``--out`` (default ``results/position_placement``, ``results/position_placement_quick``
with ``--quick``): ``config.json``, ``metrics.json`` (keys ``<split>.<variant>.<metric>``),
``weights.pt``, ``placement.npz``, ``placement_error_maps.png``, ``placement_layers.png``.

Run time (2 idle cores, one torch thread a training): full run 7.5 min, ``--quick`` 36 s.
Protocol, metrics and measured results: docs/results/position_placement.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import geoshape
from validation.core import (ExperimentConfig, tuple_of, Result, Streams, SweepSpec, flag, format_table, ints, one_of,
                             param, reals, run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot

__all__ = ["Config", "main", "cli", "held_out_mask", "sample_positions", "eqt_psnr"]

SPLITS = ("uniform", "quadrant")
TRAINED = ("zero_pad", "circular", "coordconv")
VARIANTS = TRAINED + ("constructed",)
_NET = {"zero_pad": ("zeros", False), "circular": ("circular", False), "coordconv": ("zeros", True)}

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(
    variants=VARIANTS,
    headlines=("quadrant.{v}.centroid_error_held_out_px", "uniform.{v}.centroid_error_held_out_px",
               "quadrant.{v}.centroid_error_seen_px", "quadrant.{v}.eqt_db", "uniform.{v}.eqt_db"),
    pairs=(("zero_pad", "coordconv"), ("zero_pad", "circular")),
)


_widths = tuple_of(ints(1), what="positive ints")


def _pow2_size(v, name: str) -> int:
    v = ints(16, 256)(v, name)
    if v & (v - 1):
        raise ValueError(f"{name} must be a power of two in [16, 256], got {v!r}")
    return v


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "position_placement"
    QUICK = {"steps": 150, "n_test": 128, "n_probe": 192, "grid": 8, "splits": ("quadrant",)}

    size: int = param(64, "canvas side in pixels, a power of two in [16, 256]", _pow2_size)
    radius: float = param(4.0, "disk radius in pixels, in [1, size / 8]", reals(1.0))
    sigma: float = param(1.0, "Gaussian blur of the disk in pixels, in [0.3, 3]", reals(0.3, 3.0))
    margin: float = param(8.0, "centres stay this many pixels from the border (>= radius + 4 sigma, so the "
                               "centroid is the centre), in pixels", reals(0.0))
    held_out_fraction: float = param(0.25, "share of one-pixel cells the uniform split holds out, in (0, 1)",
                                     reals(0.0, 1.0, lo_open=True, hi_open=True))
    splits: tuple[str, ...] = param(SPLITS, "splits to run, from uniform, quadrant",
                                    lambda v, n: _subset(v, n, SPLITS))
    widths: tuple[int, ...] = param((16, 16, 8, 8), "channels of the start map and of each upsampling block",
                                    _widths)
    steps: int = param(1500, "Adam steps per decoder, >= 2", ints(2))
    batch_size: int = param(32, "positions a batch, >= 2", ints(2))
    lr: float = param(3e-3, "Adam learning rate (cosine decay to 0), > 0", reals(0.0, lo_open=True))
    n_test: int = param(512, "test positions in each region (seen, held out), >= 8", ints(8))
    n_probe: int = param(768, "positions for the layer probes (half fit, half scored), >= 16", ints(16))
    shift_max: float = param(2.0, "largest sub-pixel shift of the EQ-T score, in pixels, in (0, margin]",
                             reals(0.0, lo_open=True))
    grid: int = param(24, "positions per axis of the error maps, >= 2", ints(2))
    progress: bool = param(False, "show a progress bar per training", flag)

    def validate(self) -> None:
        if self.radius > self.size / 8:
            raise ValueError(f"radius must be in [1, size / 8 = {self.size / 8:g}] pixels, got {self.radius!r}")
        if self.margin < self.radius + 4 * self.sigma or self.margin > self.size / 4:
            raise ValueError(f"margin must be in [radius + 4 sigma = {self.radius + 4 * self.sigma:g}, "
                             f"size / 4 = {self.size / 4:g}] pixels, got {self.margin!r}")
        if self.shift_max > self.margin:
            raise ValueError(f"shift_max must be in (0, margin = {self.margin:g}] pixels, got {self.shift_max!r}")
        if len(self.widths) > int(np.log2(self.size)) - 2:
            raise ValueError(f"widths must hold at most log2(size) - 2 = {int(np.log2(self.size)) - 2} ints, "
                             f"got {len(self.widths)}")


def _subset(v, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(v, str):
        v = tuple(s for s in v.split(",") if s)
    return tuple_of(one_of(*allowed), distinct=True, what=f"names from {', '.join(allowed)}")(v, name)


# ----------------------------------------------------------------------------- splits and data
def _box(cfg: Config) -> tuple[float, float]:
    return cfg.margin, cfg.size - 1 - cfg.margin


def held_out_mask(split: str, cfg: Config, rng: np.random.Generator | None = None) -> np.ndarray:
    """Boolean ``(m, m)`` over the one-pixel cells ``[lo + j, lo + j + 1) x [lo + i, lo + i + 1)``
    of the centre box (row i is y, column j is x): True where the split holds the cell out.

    ``uniform``: a random ``held_out_fraction`` of the cells (exactly rounded), drawn with ``rng``;
    ``quadrant``: the cells whose centre lies past the canvas centre in both x and y.
    """
    lo, hi = _box(cfg)
    m = int(np.ceil(hi - lo))
    if split == "uniform":
        if rng is None:
            raise ValueError("rng is required for the uniform split")
        k = int(round(cfg.held_out_fraction * m * m))
        mask = np.zeros(m * m, dtype=bool)
        mask[rng.choice(m * m, size=k, replace=False)] = True
        return mask.reshape(m, m)
    one_of(*SPLITS)(split, "split")
    c = lo + np.arange(m) + 0.5
    past = c > (cfg.size - 1) / 2
    return past[:, None] & past[None, :]


def _held_out(pos: np.ndarray, mask: np.ndarray, cfg: Config) -> np.ndarray:
    lo, _ = _box(cfg)
    m = mask.shape[0]
    j = np.clip(np.floor(pos[:, 0] - lo).astype(int), 0, m - 1)
    i = np.clip(np.floor(pos[:, 1] - lo).astype(int), 0, m - 1)
    return mask[i, j]


def sample_positions(n: int, mask: np.ndarray, cfg: Config, rng: np.random.Generator, *,
                     held_out: bool = False) -> np.ndarray:
    """``(n, 2)`` centres ``(x, y)`` uniform on the box's seen (or, ``held_out=True``, held-out)
    region, by rejection."""
    lo, hi = _box(cfg)
    out = np.empty((0, 2))
    while len(out) < n:
        p = rng.uniform(lo, hi, size=(2 * n + 16, 2))
        out = np.concatenate([out, p[_held_out(p, mask, cfg) == held_out]])
    return out[:n]


def _render(pos: np.ndarray, cfg: Config) -> np.ndarray:
    return geoshape.disks(cfg.radius, pos, size=cfg.size, sigma=cfg.sigma)


class _Objects:
    """Sampler for ``nets.train``: blurred disks centred on the split's seen region."""

    def __init__(self, mask: np.ndarray, cfg: Config):
        self.mask, self.cfg = mask, cfg

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return _render(sample_positions(n, self.mask, self.cfg, rng), self.cfg)


# ----------------------------------------------------------------------------- models
def _train(variant: str, mask: np.ndarray, cfg: Config, val: np.ndarray, seed: int):
    import nets

    padding, coords = _NET[variant]
    model = nets.PlacementDecoder(nets.PlacementDecoderConfig(size=cfg.size, widths=cfg.widths, padding=padding,
                                                              coords=coords), seed=seed)
    tc = nets.TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr, lr_schedule="cosine",
                          eval_every=max(1, cfg.steps // 10), threads=cfg.torch_threads, device=cfg.device,
                          progress=cfg.progress, seed=seed)
    hist = nets.train(model, _Objects(mask, cfg), tc, val_data=val)
    model.cpu()
    model.eval()
    return model, hist


def _template(cfg: Config) -> np.ndarray:
    """The object at the centre of an odd patch: what the constructed decoder convolves with."""
    half = int(np.ceil(cfg.radius + 4 * cfg.sigma))
    side = 2 * half + 1
    return geoshape.disks(cfg.radius, (half, half), size=side, sigma=cfg.sigma)[0]


def _constructed(cfg: Config):
    import nets

    return nets.ConstructedPlacementDecoder(
        nets.ConstructedPlacementConfig(length=cfg.size, ndim=2, template=_template(cfg)))


def _decode(model, pos: np.ndarray, chunk: int = 256) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for k in range(0, len(pos), chunk):
            y = model(torch.tensor(pos[k:k + chunk], dtype=torch.float32)) if _is_constructed(model) else \
                model.decode(torch.tensor(pos[k:k + chunk], dtype=torch.float32))
            out.append(y.reshape(len(y), -1).numpy().astype(np.float64))
    s = int(round(np.sqrt(out[0].shape[1])))
    return np.concatenate(out).reshape(-1, s, s)


def _is_constructed(model) -> bool:
    return type(model).__name__ == "ConstructedPlacementDecoder"


# ----------------------------------------------------------------------------- metrics
def centroids(images: np.ndarray) -> np.ndarray:
    """``(n, 2)`` intensity centroids ``(x, y)`` of ``(n, s, s)`` images, negatives clipped to 0."""
    w = np.clip(images, 0, None)
    t = np.arange(images.shape[-1])
    mass = w.sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.stack([(w.sum(1) * t).sum(1) / mass, (w.sum(2) * t).sum(1) / mass], axis=1)


def eqt_psnr(model, pos: np.ndarray, shifts: np.ndarray, peak: float) -> float:
    """StyleGAN3's EQ-T for a position decoder, in dB: ``10 log10(peak^2 / MSE)`` between
    ``decode(pos + shift)`` and ``decode(pos)`` shifted by ``shift`` with the ideal (Fourier,
    periodic) sub-pixel shift; the object stays ``margin`` pixels inside, so the wrap is idle."""
    from scipy.ndimage import fourier_shift

    a = _decode(model, pos + shifts)
    b = _decode(model, pos)
    moved = np.stack([np.fft.ifftn(fourier_shift(np.fft.fftn(img), (d[1], d[0]))).real
                      for img, d in zip(b, shifts)])
    mse = float(np.mean((a - moved) ** 2))
    return float(10 * np.log10(peak**2 / max(mse, 1e-30)))


def _best_corr(h: np.ndarray, ref: np.ndarray) -> float:
    """Largest Pearson correlation, over the channels of ``h`` ``(n, C, s, s)``, between a
    channel's maps and ``ref`` ``(n, s, s)``, both taken over all samples and pixels."""
    r = ref.reshape(len(ref), -1) - ref.mean()
    best = -1.0
    for c in range(h.shape[1]):
        v = h[:, c].reshape(len(h), -1)
        v = v - v.mean()
        den = np.sqrt((v * v).sum() * (r * r).sum())
        if den > 0:
            best = max(best, float((v * r).sum() / den))
    return best


def coarse_dirac(pos: np.ndarray, side: int, size: int) -> np.ndarray:
    """``(n, side, side)`` eq.-13 Diracs at ``pos`` (pixels of the ``size`` canvas) carried to a
    ``side`` grid whose cells are ``size / side`` pixels wide (cell centres aligned)."""
    return geoshape.dirac2d(np.clip((pos + 0.5) * side / size - 0.5, 0, side - 1), side).astype(np.float64)


def coarse_object(pos: np.ndarray, side: int, cfg: Config) -> np.ndarray:
    """``(n, side, side)`` the object at ``pos``, area-averaged over cells of ``size / side`` pixels."""
    f = cfg.size // side
    return _render(pos, cfg).astype(np.float64).reshape(len(pos), side, f, side, f).mean((2, 4))


def _layer_scores(model, pos_fit: np.ndarray, pos_seen: np.ndarray, pos_held: np.ndarray,
                  cfg: Config) -> dict[str, float]:
    """Per layer l: a ridge probe reading the position, fit on ``pos_fit`` (its R^2 on fresh seen
    positions ``probe_r2_l{l}``, its RMS error in pixels there ``probe_rmse_seen_px_l{l}`` and on
    held-out ones ``probe_rmse_held_out_px_l{l}``), and the
    best channel's correlation with the construction's coarse Dirac (``dirac_corr_l{l}``) and
    with the area-averaged object (``object_corr_l{l}``) at the layer's resolution."""
    import torch
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    def acts(pos):
        with torch.no_grad():
            hs = model.layer_outputs(torch.tensor(pos, dtype=torch.float32))
        return [h.numpy().astype(np.float64) for h in hs]

    out = {}
    for l, (hf, hs, hh) in enumerate(zip(acts(pos_fit), acts(pos_seen), acts(pos_held))):
        xf = hf.reshape(len(hf), -1)
        mu, sd = xf.mean(0), xf.std(0) + 1e-12
        probe = RidgeCV(alphas=np.logspace(-4, 2, 7)).fit((xf - mu) / sd, pos_fit)
        for region, h, pos in (("seen", hs, pos_seen), ("held_out", hh, pos_held)):
            pred = probe.predict((h.reshape(len(h), -1) - mu) / sd)
            if region == "seen":
                out[f"probe_r2_l{l}"] = float(r2_score(pos, pred))
            out[f"probe_rmse_{region}_px_l{l}"] = float(np.sqrt(np.mean(np.sum((pred - pos) ** 2, axis=1))))
        side = hs.shape[-1]
        out[f"dirac_corr_l{l}"] = _best_corr(hs, coarse_dirac(pos_seen, side, cfg.size))
        out[f"object_corr_l{l}"] = _best_corr(hs, coarse_object(pos_seen, side, cfg))
    return out


def _scores(model, sets: dict, cfg: Config, shifts_pos: np.ndarray, shifts: np.ndarray) -> dict:
    m = {}
    for region, pos in sets.items():
        y = _decode(model, pos)
        err = np.linalg.norm(centroids(y) - pos, axis=1)
        m[f"centroid_error_{region}_px"] = float(np.mean(err))
        m[f"mse_{region}"] = float(np.mean((y - _render(pos, cfg)) ** 2))
    m["eqt_db"] = eqt_psnr(model, shifts_pos, shifts, peak=1.0)
    return m


def _error_map(model, cfg: Config) -> np.ndarray:
    lo, hi = _box(cfg)
    g = np.linspace(lo, hi, cfg.grid)
    pos = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)  # rows y, columns x
    err = np.linalg.norm(centroids(_decode(model, pos)) - pos, axis=1)
    return err.reshape(cfg.grid, cfg.grid)


# ----------------------------------------------------------------------------- main
def main(config: Config) -> Result:
    """Train the decoders of every split, score them and the construction, write the outputs."""
    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)

    def rng_of(name: str) -> np.random.Generator:
        return np.random.default_rng(streams(name))

    constructed = _constructed(cfg)
    models, hists, m, data = {}, {}, {}, {}
    for split in cfg.splits:
        mask = held_out_mask(split, cfg, rng_of(f"split/{split}"))
        sets = {"seen": sample_positions(cfg.n_test, mask, cfg, rng_of(f"test/{split}/seen")),
                "held_out": sample_positions(cfg.n_test, mask, cfg, rng_of(f"test/{split}/held_out"),
                                             held_out=True)}
        rng = rng_of(f"eqt/{split}")
        lo, hi = _box(cfg)
        shifts = rng.uniform(-cfg.shift_max, cfg.shift_max, size=(cfg.n_test, 2))
        base = np.clip(sets["seen"], lo + cfg.shift_max, hi - cfg.shift_max)
        probe_pos = sample_positions(cfg.n_probe, mask, cfg, rng_of(f"probe/{split}"))
        probe_held = sample_positions(cfg.n_probe // 2, mask, cfg, rng_of(f"probe/{split}/held_out"), held_out=True)
        half = cfg.n_probe // 2
        val = _render(sample_positions(256, mask, cfg, rng_of(f"validation/{split}")), cfg)
        data[f"{split}.mask"] = mask
        for variant in VARIANTS:
            key = f"{split}.{variant}"
            if variant == "constructed":
                model = constructed
            else:
                model, hist = _train(variant, mask, cfg, val, streams(f"train/{split}/{variant}"))
                models[key], hists[key] = model, hist
                m[f"{key}.train_seconds"] = hist.seconds
            for name, v in _scores(model, sets, cfg, base, shifts).items():
                m[f"{key}.{name}"] = v
            if variant != "constructed":
                for name, v in _layer_scores(model, probe_pos[:half], probe_pos[half:], probe_held, cfg).items():
                    m[f"{key}.{name}"] = v
            data[f"{key}.error_map"] = _error_map(model, cfg)
    data["layers"] = _layer_examples(models, cfg)
    save_npz(out / "placement.npz", {k: v for k, v in data.items() if k != "layers"})
    _plot_error_maps(data, cfg, out / "placement_error_maps.png")
    _plot_layers(data["layers"], cfg, out / "placement_layers.png")
    m["total_seconds"] = time.perf_counter() - t_start
    write_outputs(out, cfg, m, {k.replace(".", "/"): v for k, v in models.items()}, histories=hists,
                  streams=streams.used)
    return Result(cfg, m, _table(m, cfg), out, {k: h.to_dict() for k, h in hists.items()})


def _layer_examples(models: dict, cfg: Config) -> dict:
    """For one position: each layer's channel closest to the coarse Dirac, for every trained net
    of the first split, beside the construction's coarse Dirac and the area-averaged object."""
    import torch

    pos = np.array([[0.37 * (cfg.size - 1) + 0.3, 0.61 * (cfg.size - 1) + 0.45]])
    split = cfg.splits[0]
    ex = {"position": pos[0], "split": split, "nets": {}, "dirac": [], "object": []}
    for variant in TRAINED:
        model = models[f"{split}.{variant}"]
        with torch.no_grad():
            hs = [h[0].numpy() for h in model.layer_outputs(torch.tensor(pos, dtype=torch.float32))]
        maps = []
        for h in hs:
            side = h.shape[-1]
            d = coarse_dirac(pos, side, cfg.size)[0]
            corr = [np.corrcoef(c.ravel(), d.ravel())[0, 1] if c.std() > 0 else -1.0 for c in h]
            maps.append(h[int(np.nanargmax(corr))])
        ex["nets"][variant] = maps
    for h in ex["nets"][TRAINED[0]]:
        side = h.shape[-1]
        ex["dirac"].append(coarse_dirac(pos, side, cfg.size)[0])
        ex["object"].append(coarse_object(pos, side, cfg)[0])
    return ex


def _plot_error_maps(data: dict, cfg: Config, path: Path) -> None:
    splits = cfg.splits
    fig, axes = pyplot().subplots(len(splits), len(VARIANTS), figsize=(3.1 * len(VARIANTS), 2.9 * len(splits)),
                                  squeeze=False, layout="constrained")
    vmax = max(float(np.nanmax(data[f"{s}.{v}.error_map"])) for s in splits for v in VARIANTS)
    lo, hi = _box(cfg)
    for r, split in enumerate(splits):
        mask = data[f"{split}.mask"]
        for c, variant in enumerate(VARIANTS):
            ax = axes[r, c]
            im = ax.imshow(data[f"{split}.{variant}.error_map"], origin="upper", extent=(lo, hi, hi, lo),
                           cmap="magma", vmin=0, vmax=max(vmax, 1e-6))
            ax.contour(np.linspace(lo + 0.5, hi - 0.5, mask.shape[1]), np.linspace(lo + 0.5, hi - 0.5, mask.shape[0]),
                       mask.astype(float), levels=[0.5], colors="c", linewidths=0.8)
            ax.set_title(f"{split}: {variant}", fontsize=9)
            ax.set_xlabel("x (px)")
            if c == 0:
                ax.set_ylabel("y (px)")
        fig.colorbar(im, ax=axes[r].tolist(), label="centroid error (px)", shrink=0.9)
    fig.suptitle("Distance between the decoded object's centroid and its position (cyan: held out)", fontsize=10)
    finish(fig, path, dpi=110)


def _plot_layers(ex: dict, cfg: Config, path: Path) -> None:
    rows = ["construction", "object"] + list(ex["nets"])
    n_l = len(ex["dirac"])
    fig, axes = pyplot().subplots(len(rows), n_l, figsize=(2.0 * n_l, 2.0 * len(rows)), squeeze=False)
    for r, name in enumerate(rows):
        maps = {"construction": ex["dirac"], "object": ex["object"]}.get(name) or ex["nets"][name]
        for l, mp in enumerate(maps):
            ax = axes[r, l]
            ax.imshow(mp, cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"layer {l}: {mp.shape[0]}x{mp.shape[1]}", fontsize=8)
            if l == 0:
                ax.set_ylabel(name, fontsize=8)
    x, y = ex["position"]
    fig.suptitle(f"Each layer's channel closest to the coarse Dirac, position ({x:.2f}, {y:.2f}), "
                 f"{ex['split']} split", fontsize=9)
    finish(fig, path, dpi=110)


def _table(m: dict, cfg: Config) -> str:
    rows = []
    for split in cfg.splits:
        for variant in VARIANTS:
            k = f"{split}.{variant}"
            rows.append((f"{split}: {variant}", m[f"{k}.centroid_error_seen_px"], m[f"{k}.centroid_error_held_out_px"],
                         m[f"{k}.mse_held_out"], m[f"{k}.eqt_db"]))
    return format_table(rows, ("split: decoder", "centroid err seen (px)", "held out (px)", "MSE held out",
                               "EQ-T (dB)"))


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, placement.npz, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
