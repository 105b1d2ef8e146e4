"""The authors' protocol (public Keras code), for the experiments that use their network.

- :func:`authors_data`: ``n`` centred disks drawn once, radius ``max_radius * U[0, 1)``, 63 x 63
  (centre at pixel 31), blur ``sigma`` 0.5 (the exact Gaussian blur, the limit of their
  800-shift Monte-Carlo jitter), 8-bit rounded as their PNG files are; optionally without the
  radii of a gap or above a largest radius;
- :func:`authors_train_config`: Adam lr 0.01 constant (Keras' epsilon 1e-7), batches of 64 as
  the head of a fresh shuffle every step, per-pixel MSE, keep-best every 500 steps, no
  validation split;
- :func:`regularisers`: the penalties in the authors' units (their contractive term is a mean
  over the batch *and* the pixels, ours a mean over the batch only);
- :func:`measure`: codes, reconstructions and decoded radii of a model on exact test disks;
- :func:`run_one`: one training from a picklable spec, for :func:`validation.runs.disk.pool_map`;
  :func:`run_cached` the same, kept on disk per spec so that a stopped sweep resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

import geoshape
import nets
from nets.official import OfficialAE, OfficialAEConfig

__all__ = ["SIZE", "authors_data", "authors_train_config", "regularisers", "measure", "r2_line", "run_one",
           "run_cached", "spec_key", "model_of"]

#: The authors' image side (widths (1, 8, 4, 3, 2, 1): 63 -> 31 -> 15 -> 7 -> 3 -> 1).
SIZE = OfficialAEConfig().size


def authors_data(n: int, *, seed: int, max_radius: float = 31.5, sigma: float = 0.5, quantize: bool = True,
                 gap: tuple[float, float] | None = None, r_keep_max: float | None = None):
    """``(images (m, 63, 63) float32, radii (m,))``: ``n`` draws, then those in the closed
    ``gap`` or above ``r_keep_max`` removed (the authors' set with radii left out)."""
    d = geoshape.centred_disks(n, size=SIZE, r_min=0.0, r_max=max_radius, sigma=sigma, quantize=quantize, rng=seed)
    r = d.factors["radius"]
    keep = np.ones(len(r), bool)
    if gap is not None:
        keep &= ~((r >= gap[0]) & (r <= gap[1]))
    if r_keep_max is not None:
        keep &= r <= r_keep_max
    return d.images[keep], r[keep]


def authors_train_config(*, steps: int, seed: int, lr: float = 0.01, batch_size: int = 64,
                         keep_best_every: int = 500, regs: tuple = (), noise_std: float = 0.0,
                         clean_loss: bool = True, progress: bool = False, threads: int = 1,
                         device: str = "cpu") -> nets.TrainConfig:
    """The authors' training loop as a ``nets.TrainConfig`` (one thread by default: runs go
    two at a time)."""
    return nets.TrainConfig(steps=steps, batch_size=batch_size, lr=lr, eps=1e-7, lr_schedule="constant",
                            batching="random", keep_best_every=keep_best_every, val_fraction=0.0,
                            eval_every=max(steps // 20, 1), threads=threads, device=device, progress=progress, seed=seed,
                            regularisers=regs, noise_std=noise_std, clean_loss=clean_loss)


def regularisers(penalty: str, lam: float) -> dict:
    """``TrainConfig`` fields for the penalty ``penalty`` at the authors' weight ``lam``.

    ``"none"``; the talk's ``"latent_l2"`` (type 1), ``"denoise"`` (type 2: ``lam`` is the
    noise std, the clean term dropped: the net sees only noisy inputs) and ``"encoder_l2"``
    (type 3); the code's ``"all_l2"`` and ``"contractive"`` (``lam`` times the mean over batch
    and pixels of ``(dz/dx)^2``: ``lam / 63^2`` on nets' per-image sum).
    """
    if penalty == "none":
        return {}
    if penalty == "denoise":
        return {"regs": (("denoise", 1.0),), "noise_std": float(lam), "clean_loss": False}
    if penalty == "contractive":
        return {"regs": (("contractive", float(lam) / SIZE**2),)}
    if penalty in ("latent_l2", "encoder_l2", "all_l2"):
        return {"regs": ((penalty, float(lam)),)}
    raise ValueError(f"penalty must be one of none, latent_l2, denoise, encoder_l2, all_l2, contractive; "
                     f"got {penalty!r}")


def r2_line(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the least-squares line y ~ a x + b (the squared Pearson correlation)."""
    xc, yc = x - x.mean(), y - y.mean()
    den = float(np.sum(xc * xc) * np.sum(yc * yc))
    return float(np.sum(xc * yc) ** 2 / den) if den > 0 else 0.0


@torch.no_grad()
def measure(model, radii: np.ndarray, *, sigma: float = 0.5) -> dict[str, np.ndarray]:
    """Codes ``z`` (n,), exact test disks ``x`` and reconstructions ``y`` (n, s, s), per-image
    MSE, and the decoded radius ``r_hat = sqrt(sum(y) / pi)`` of a 1-D-latent model."""
    x = geoshape.disks(radii, size=model.config.size, sigma=sigma)
    z = model.encode(torch.from_numpy(x)[:, None])[:, 0].double().numpy()
    y = model.decode(torch.from_numpy(z[:, None]).float())[:, 0].double().numpy()
    return {"radius": np.asarray(radii, np.float64), "z": z, "images": x, "recon": y,
            "mse": ((y - x) ** 2).mean(axis=(1, 2)),
            "radius_hat": np.sqrt(np.maximum(y.sum(axis=(1, 2)), 0.0) / math.pi)}


def model_of(run: dict) -> OfficialAE:
    """The trained model of a :func:`run_one` result, in eval mode."""
    m = OfficialAE(OfficialAEConfig(bias=run["bias"]), seed=run["seed"])
    m.load_state_dict(run["state"])
    return m.eval()


def run_one(spec: dict, steps_done=None) -> dict:
    """Train one net of the authors' layout from ``spec`` (keys: name, seed (the replicate's
    label), data_seed and train_seed (its named streams), steps, n_train, gap, r_keep_max,
    penalty, lam, bias, max_radius, sigma, quantize) in this process."""
    import numba

    from validation.runs.disk import step_reporter

    numba.set_num_threads(1)
    t0 = time.perf_counter()
    images, _ = authors_data(spec["n_train"], seed=spec["data_seed"], max_radius=spec["max_radius"],
                             sigma=spec["sigma"], quantize=spec["quantize"], gap=spec.get("gap"),
                             r_keep_max=spec.get("r_keep_max"))
    model = OfficialAE(OfficialAEConfig(bias=spec["bias"]), seed=spec["train_seed"])
    tc = authors_train_config(steps=spec["steps"], seed=spec["train_seed"], progress=spec.get("progress", False),
                              keep_best_every=spec.get("keep_best_every", 500),
                              threads=spec.get("threads", 1), device=spec.get("device", "cpu"),
                              **regularisers(spec["penalty"], spec["lam"]))
    callback, flush = step_reporter(steps_done)
    hist = nets.train(model, images, tc, callback=callback)
    flush(hist)
    return {"name": spec["name"], "seed": spec["seed"], "bias": spec["bias"], "n_images": len(images),
            "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "history": hist.to_dict(), "seconds": time.perf_counter() - t0}


def spec_key(spec: dict) -> str:
    """A file name for ``spec``: 16 hex digits of the SHA-256 of its sorted JSON, without the
    keys that do not change the trained net (``progress``, ``cache_dir``, ``threads``, ``device``)."""
    kept = {k: v for k, v in spec.items() if k not in ("progress", "cache_dir", "threads", "device")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def run_cached(spec: dict, steps_done=None) -> dict:
    """:func:`run_one`, kept in ``spec["cache_dir"]/<name>_s<seed>_<spec_key>.pt``.

    A run whose file exists is loaded, not trained (its steps are reported at once); a new run
    is written atomically as soon as it ends, so a sweep killed midway keeps every finished
    net and the next call trains only the rest. The key covers every training setting, not
    the code: after a change to training, delete the folder.
    """
    from nets.io import atomic_torch_save

    path = Path(spec["cache_dir"]) / f"{spec['name']}_s{spec['seed']}_{spec_key(spec)}.pt"
    if path.exists():
        run = torch.load(path, map_location="cpu", weights_only=True)
        if steps_done is not None:
            steps_done.put(int(spec["steps"]))
        return run
    run = run_one(spec, steps_done)
    atomic_torch_save(run, path)
    return run
