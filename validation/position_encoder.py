"""Encoding position: a trained linear encoder against the talk's filter [1, 2, 1] (eqs. 9-12, Table 1).

    python -m validation.position_encoder [--quick] [--seed S] [--out DIR] [--FIELD value ...]

Three ``nets.PositionEncoder`` nets start from random weights and are trained by ``nets.train``
to output ``i + 1`` for the one-hot ``delta_i`` (docs/conventions.md, "The position encoder"):
``encoder_1d`` (length ``length``), ``encoder_2d`` (``size2d x size2d``, one channel per axis)
and ``encoder_table`` (length 8, set beside the talk's Table 1). Learnt filters are compared
with ``phi`` on their identifiable taps, up to a per-layer scale (:mod:`validation.metrics.filters`).

Outputs in ``--out`` (default ``results/position_encoder``, ``results/position_encoder_quick``
with ``--quick``): ``config.json``, ``metrics.json``, ``weights.pt``, ``encoder.npz``, ``table1.txt``
(the learned Table 1), ``position_encoder_filters.png``, ``position_encoder_positions.png``.

Metrics: ``filter_cosine_min`` / ``filter2d_cosine_min`` (|cos| with phi), ``scale_out_product``
(1), ``position_max_abs_err``, ``position2d_max_abs_err``, ``table1_max_abs_err``.

Run time (2 idle cores, one torch thread a training): full run 30 s, ``--quick`` 9 s.
Measured results, and why the filters need normalising: docs/results/position_encoder.md
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import geoshape
import theory
from geoshape.io import atomic_write_bytes
from validation.core import (ExperimentConfig, Result, SweepSpec, Streams, flag, format_table, ints, param, reals,
                             run_cli, write_outputs)
from validation._io import save_npz
from validation._plots import finish, pyplot
from validation.metrics import coefficient_of_determination
from validation.metrics.filters import (
    PHI,
    filter_cosine,
    filter_scale,
    identifiable_taps,
    kernel_template,
    match_channels,
)

__all__ = ["Config", "main", "cli", "PHI", "identifiable_taps", "filter_scale", "filter_cosine", "kernel_template",
           "match_channels"]

#: What a sweep over seeds summarises first (figure and table).
SWEEP = SweepSpec(headlines=("filter_cosine_min", "position_max_abs_err", "position_continuous_max_abs_err",
                             "table1_max_abs_err", "filter2d_cosine_min", "position2d_max_abs_err"))

def _is_pow2(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 2 and n & (n - 1) == 0


def _pow2_4_1024(v, name: str) -> int:
    v = ints(4, 1024)(v, name)
    if not _is_pow2(v):
        raise ValueError(f"{name} must be a power of two in [4, 1024], got {v!r}")
    return v


@dataclass(frozen=True)
class Config(ExperimentConfig):
    NAME = "position_encoder"
    QUICK = {"length": 32, "size2d": 8, "steps": 1500, "steps2d": 800, "table_steps": 1000, "n_continuous": 512}

    length: int = param(64, "1-D Dirac length, a power of two in [4, 1024] (L = log2 length layers)", _pow2_4_1024)
    size2d: int = param(16, "side of the 2-D Diracs, a power of two in [4, 1024]", _pow2_4_1024)
    table_length: int = param(8, "length of the Table 1 net (the talk's n = 8), a power of two in [4, 1024]",
                              _pow2_4_1024)
    steps: int = param(6000, "Adam steps (full batch) of the 1-D net, >= 1", ints(1))
    steps2d: int = param(3000, "Adam steps (full batch) of the 2-D net, >= 1", ints(1))
    table_steps: int = param(1500, "Adam steps (full batch) of the Table 1 net, >= 1", ints(1))
    lr: float = param(0.3, "Adam learning rate (cosine decay to 0), > 0", reals(0.0, lo_open=True))
    beta2: float = param(0.9, "Adam second-moment decay, in (0, 1)", reals(0.0, 1.0, lo_open=True, hi_open=True))
    n_continuous: int = param(1024, "random eq. 13 Diracs on which the 1-D net is checked (a + 1), >= 1", ints(1))
    progress: bool = param(False, "show a progress bar per training", flag)


def _train(n: int, ndim: int, steps: int, cfg: Config, seed: int):
    import nets

    if ndim == 1:
        pos = np.arange(n, dtype=np.float64)
        images = geoshape.dirac(pos, n)
    else:
        ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        pos = np.stack([jj.ravel(), ii.ravel()], axis=1).astype(np.float64)  # (x, y)
        images = geoshape.dirac2d(pos, n)
    model = nets.PositionEncoder(nets.PositionEncoderConfig(length=n, ndim=ndim), seed=seed)
    tc = nets.TrainConfig(steps=steps, batch_size=len(images), lr=cfg.lr, betas=(0.9, cfg.beta2),
                          lr_schedule="cosine", eval_every=max(1, steps // 20), val_fraction=0.0,
                          threads=cfg.torch_threads, device=cfg.device, progress=cfg.progress, seed=seed)
    hist = nets.train(model, images, tc, val_data=images)
    model.cpu()
    model.eval()
    return model, images, pos, hist


def _filters_1d(model, n: int) -> dict:
    ws = np.array([conv.weight.detach().numpy()[0, 0].astype(np.float64) for conv in model.layers])
    masks = np.array([identifiable_taps(n >> l) for l in range(len(ws))])
    scales = np.array([filter_scale(w, PHI, m) for w, m in zip(ws, masks)])
    cos = np.array([filter_cosine(w, PHI, m) for w, m in zip(ws, masks)])
    normed = ws / scales[:, None]
    tap_err = max(float(np.abs(f - PHI)[m].max()) for f, m in zip(normed, masks))
    out = float(model.out.weight.detach().numpy()[0, 0])
    return {"weights": ws, "masks": masks, "scales": scales, "cosines": cos, "normed": normed,
            "tap_err": tap_err, "out": out}


def _filters_2d(model, n: int) -> dict:
    ws = np.array([conv.weight.detach().numpy()[:, 0].astype(np.float64) for conv in model.layers])  # (L, 2, 3, 3)
    cx, cy = match_channels(ws[0])
    L = len(ws)
    masks = np.array([identifiable_taps(n >> l, 2) for l in range(L)])
    res = {"weights": ws, "masks": masks, "channel_x": cx, "channel_y": cy}
    for axis, ch in (("x", cx), ("y", cy)):
        t = kernel_template(axis)
        res[f"scales_{axis}"] = np.array([filter_scale(ws[l, ch], t, masks[l]) for l in range(L)])
        res[f"cosines_{axis}"] = np.array([filter_cosine(ws[l, ch], t, masks[l]) for l in range(L)])
        normed = ws[:, ch] / res[f"scales_{axis}"][:, None, None]
        res[f"normed_{axis}"] = normed
        res[f"tap_err_{axis}"] = max(float(np.abs(normed[l] - t)[masks[l]].max()) for l in range(L))
    o = model.out.weight.detach().numpy().astype(np.float64)  # rows: outputs (x, y); columns: channels
    res["out"] = o
    res["out_x"], res["out_y"] = o[0, cx], o[1, cy]
    res["out_offdiag_ratio"] = float(max(abs(o[0, cy]), abs(o[1, cx])) / min(abs(o[0, cx]), abs(o[1, cy])))
    return res


def _table_layers(model, n: int, scales: np.ndarray) -> tuple[list[np.ndarray], float]:
    import torch

    with torch.no_grad():
        outs = model.layer_outputs(torch.from_numpy(geoshape.dirac(np.arange(n, dtype=np.float64), n)))
    cum = np.cumprod(scales)
    learned = [o[:, 0].numpy().astype(np.float64) / c for o, c in zip(outs, cum)]
    exact = theory.position_layer_table(n).layers[1:]
    err = max(float(np.abs(u - e).max()) for u, e in zip(learned, exact))
    return learned, err


def _cell(v: float, integer: bool) -> str:
    txt = f"{v:.0f}" if integer else f"{v:.2f}"
    return "0.00" if txt == "-0.00" else txt


def _format_table1(learned: list[np.ndarray], n: int) -> str:
    """The talk's layout: columns are the Diracs with their 1 from the right end to the left."""
    names = ["x"] + [f"u({l})" for l in range(1, len(learned) + 1)]
    layers = [np.eye(n)] + learned
    order = list(range(n - 1, -1, -1))
    lines = []
    for s in range(0, n, 4):
        for name, layer in zip(names, layers):
            cells = ["[" + ", ".join(_cell(v, name == "x") for v in layer[i]) + "]" for i in order[s:s + 4]]
            lines.append(f"{name:5s} " + " ".join(cells))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- main
def main(config: Config) -> Result:
    """Train the three encoders, compare with theory, write the outputs; see the docstring."""
    import torch

    cfg = config
    t_start = time.perf_counter()
    out = cfg.output_dir
    streams = Streams(cfg.seed)
    m: dict[str, float] = {}

    # ---- 1-D
    enc1, x1, pos1, h1 = _train(cfg.length, 1, cfg.steps, cfg, streams("train/encoder_1d"))
    f1 = _filters_1d(enc1, cfg.length)
    with torch.no_grad():
        z1 = enc1.encode(torch.from_numpy(x1))[:, 0].numpy().astype(np.float64)
        cont = geoshape.random_diracs(cfg.n_continuous, cfg.length, continuous=True, rng=streams("test"))
        zc = enc1.encode(torch.from_numpy(cont.images))[:, 0].numpy().astype(np.float64)
        z_theory = theory.position_encode(x1)
    a_cont = cont.factors["position"]
    m.update({
        "layers_1d": len(f1["scales"]),
        "filter_cosine_min": float(f1["cosines"].min()),
        "filter_tap_max_abs_err": f1["tap_err"],
        "scale_product": float(np.prod(f1["scales"])),
        "scale_out_product": float(np.prod(f1["scales"]) * f1["out"]),
        "position_max_abs_err": float(np.abs(z1 - (pos1 + 1)).max()),
        "position_r2": coefficient_of_determination(pos1 + 1, z1),
        "position_continuous_max_abs_err": float(np.abs(zc - (a_cont + 1)).max()),
        "theory_position_max_abs_err": float(np.abs(z_theory - (pos1 + 1)).max()),
        "val_mse_1d": h1.final_val_mse,
        "train_seconds_1d": h1.seconds,
    })

    # ---- 2-D
    enc2, x2, pos2, h2 = _train(cfg.size2d, 2, cfg.steps2d, cfg, streams("train/encoder_2d"))
    f2 = _filters_2d(enc2, cfg.size2d)
    with torch.no_grad():
        z2 = enc2.encode(torch.from_numpy(x2)).numpy().astype(np.float64)
    z2_theory = theory.position_encode2d(x2)
    m.update({
        "filter2d_cosine_min": float(min(f2["cosines_x"].min(), f2["cosines_y"].min())),
        "filter2d_tap_max_abs_err": max(f2["tap_err_x"], f2["tap_err_y"]),
        "channels_swapped_2d": int(f2["channel_x"] == 1),
        "scale_out_product_2d_x": float(np.prod(f2["scales_x"]) * f2["out_x"]),
        "scale_out_product_2d_y": float(np.prod(f2["scales_y"]) * f2["out_y"]),
        "out_offdiag_ratio_2d": f2["out_offdiag_ratio"],
        "position2d_max_abs_err": float(np.abs(z2 - (pos2 + 1)).max()),
        "position2d_r2_min": min(coefficient_of_determination(pos2[:, k] + 1, z2[:, k]) for k in range(2)),
        "theory_position2d_max_abs_err": float(np.abs(z2_theory - (pos2 + 1)).max()),
        "val_mse_2d": h2.final_val_mse,
        "train_seconds_2d": h2.seconds,
    })

    # ---- Table 1
    enc8, _, _, h8 = _train(cfg.table_length, 1, cfg.table_steps, cfg, streams("train/encoder_table"))
    f8 = _filters_1d(enc8, cfg.table_length)
    learned, t_err = _table_layers(enc8, cfg.table_length, f8["scales"])
    m.update({
        "table1_max_abs_err": t_err,
        "table1_filter_cosine_min": float(f8["cosines"].min()),
        "train_seconds_table": h8.seconds,
    })
    table1 = _format_table1(learned, cfg.table_length)
    atomic_write_bytes(out / "table1.txt", lambda fh: fh.write(table1.encode()), suffix=".txt.tmp")

    # ---- figures from saved data
    data = {"filters_1d": f1["weights"], "masks_1d": f1["masks"], "normed_1d": f1["normed"],
            "scales_1d": f1["scales"], "cosines_1d": f1["cosines"], "positions_1d": pos1, "z_1d": z1,
            "continuous_a": a_cont, "continuous_z": zc,
            "kernels_2d": f2["weights"], "masks_2d": f2["masks"], "normed_2d_x": f2["normed_x"],
            "normed_2d_y": f2["normed_y"], "cosines_2d_x": f2["cosines_x"], "cosines_2d_y": f2["cosines_y"],
            "positions_2d": pos2, "z_2d": z2, "out_2d": f2["out"],
            **{f"table1_u{l + 1}": u for l, u in enumerate(learned)}}
    save_npz(out / "encoder.npz", data)
    _plot_filters(data, out / "position_encoder_filters.png")
    _plot_positions(data, out / "position_encoder_positions.png", m)
    m["total_seconds"] = time.perf_counter() - t_start

    histories = {"encoder_1d": h1.to_dict(), "encoder_2d": h2.to_dict(), "encoder_table": h8.to_dict()}
    write_outputs(out, cfg, m, {"encoder_1d": enc1, "encoder_2d": enc2, "encoder_table": enc8},
                  histories=histories, streams=streams.used)
    return Result(cfg, m, _table(m, cfg) + "\n\nTable 1 from the trained net (u(l) / c^l):\n" + table1, out, histories)


def _plot_filters(d: dict, path: Path) -> None:
    normed, masks, cos = d["normed_1d"], d["masks_1d"], d["cosines_1d"]
    L1, L2 = len(normed), len(d["normed_2d_x"])
    cols = max(L1, L2)
    fig, axes = pyplot().subplots(3, cols, figsize=(1.9 * cols, 5.6), squeeze=False)
    taps = np.array([-1, 0, 1])
    for l in range(cols):
        ax = axes[0, l]
        if l >= L1:
            ax.axis("off")
            continue
        ax.plot(taps, PHI, "k-", lw=1, label="[1, 2, 1]")
        ok = masks[l]
        ax.plot(taps[ok], normed[l][ok], "C0o", ms=6, label="learned / c")
        if not ok.all():
            ax.plot(taps[~ok], normed[l][~ok], "x", color="0.6", ms=6, label="no gradient")
        ax.set_xticks(taps)
        ax.set_ylim(-0.5, 2.5)
        ax.set_title(f"1-D layer {l + 1}\n1 - cos = {1 - cos[l]:.1e}", fontsize=8)
        if l == 0:
            ax.legend(fontsize=6, loc="lower center")
    for r, axis in ((1, "x"), (2, "y")):
        for l in range(cols):
            ax = axes[r, l]
            if l >= L2:
                ax.axis("off")
                continue
            k = np.where(d["masks_2d"][l], d[f"normed_2d_{axis}"][l], np.nan)
            ax.imshow(k, cmap="RdBu_r", vmin=-2.2, vmax=2.2)
            for (i, j), v in np.ndenumerate(k):
                ax.text(j, i, "-" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=6)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"2-D {axis}, layer {l + 1}, 1 - cos = {1 - d[f'cosines_2d_{axis}'][l]:.1e}", fontsize=7)
    fig.suptitle("Learned filters / per-layer scale vs theory: [1, 2, 1]; 2-D x: outer([1,1,0], [1,2,1]), "
                 "y: its transpose", fontsize=8)
    finish(fig, path, dpi=110)


def _plot_positions(d: dict, path: Path, m: dict) -> None:
    fig, axes = pyplot().subplots(1, 3, figsize=(12, 3.8))
    p, z = d["positions_1d"], d["z_1d"]
    ax = axes[0]
    ax.plot(p + 1, p + 1, "k-", lw=1, label="theory i + 1")
    ax.plot(p + 1, z, "C0o", ms=3, label="trained net, integer Diracs")
    ax.plot(d["continuous_a"] + 1, d["continuous_z"], "C1.", ms=1.5, label="trained net, eq. 13 Diracs")
    ax.set_xlabel("true position + 1")
    ax.set_ylabel("E(delta)")
    ax.set_title(f"1-D: max |err| {m['position_max_abs_err']:.2e}, R² {m['position_r2']:.6f}", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(p, z - (p + 1), "C0o-", ms=3, label="integer")
    ax.plot(d["continuous_a"], d["continuous_z"] - (d["continuous_a"] + 1), "C1.", ms=1.5, label="eq. 13")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("position (0-based)")
    ax.set_ylabel("E(delta) - (i + 1)")
    ax.set_title("1-D error", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[2]
    p2, z2 = d["positions_2d"], d["z_2d"]
    ax.plot(p2[:, 0] + 1, z2[:, 0], "C0.", ms=3, label="x")
    ax.plot(p2[:, 1] + 1, z2[:, 1], "C3.", ms=2, label="y")
    lim = p2.max() + 1
    ax.plot([1, lim], [1, lim], "k-", lw=1)
    ax.set_xlabel("true coordinate + 1")
    ax.set_ylabel("encoded")
    ax.set_title(f"2-D: max |err| {m['position2d_max_abs_err']:.2e}", fontsize=8)
    ax.legend(fontsize=7)
    finish(fig, path, dpi=110)


def _table(m: dict, cfg: Config) -> str:
    rows = [
        (f"1-D filter |cos| with [1,2,1], min over {int(m['layers_1d'])} layers", f"{m['filter_cosine_min']:.7f}", ">= 0.999"),
        ("1-D max |w/c - [1,2,1]| (identifiable taps)", m["filter_tap_max_abs_err"], ""),
        ("1-D c^L (product of layer scales)", m["scale_product"], ""),
        ("1-D c^L * final map", f"{m['scale_out_product']:.6f}", "1"),
        (f"1-D max |E(delta_i) - (i+1)|, length {cfg.length}", m["position_max_abs_err"], "<= 0.05"),
        ("1-D R^2 over all positions", f"{m['position_r2']:.9f}", "1"),
        ("1-D max |E - (a+1)|, eq. 13 Diracs", m["position_continuous_max_abs_err"], ""),
        ("2-D kernel |cos| with template, min", f"{m['filter2d_cosine_min']:.7f}", ">= 0.999"),
        ("2-D max |w/c - template|", m["filter2d_tap_max_abs_err"], ""),
        ("2-D channels swapped (x in channel 1)", float(m["channels_swapped_2d"]), "either"),
        (f"2-D max |E - (x+1, y+1)|, {cfg.size2d}x{cfg.size2d}", m["position2d_max_abs_err"], "<= 0.05"),
        ("2-D R^2, min over axes", f"{m['position2d_r2_min']:.9f}", "1"),
        ("Table 1 (n = 8): max |u(l)/c^l - theory|", m["table1_max_abs_err"], "<= 0.01"),
        ("train seconds (1-D, 2-D, table)",
         f"{m['train_seconds_1d']:.1f}, {m['train_seconds_2d']:.1f}, {m['train_seconds_table']:.1f}", ""),
    ]
    return format_table(rows, ("quantity", "value", "target"))


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, weights.pt, encoder.npz, table1.txt, *.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
