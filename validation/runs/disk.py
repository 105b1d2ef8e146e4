"""Training the talk's 1-D-latent disk autoencoders for the disk experiments (disk_vs_airy,
disk_encoder, bias_ablation, interpolation).

- :class:`CentredDisks`: the one sampler of fresh centred blurred disks (radius uniform on
  [0, size/2), optionally minus a gap, optionally stratified);
- :func:`disk_spec` / :func:`grid_specs`: picklable training specs from ``nets.PRESETS``, one
  per (variant, seed);
- :func:`train_models`: trains the specs in up to two spawned processes, one torch and one
  numba thread each (on 2 cores, one thread per training is fastest), and loads the models;
- :func:`codes_and_outputs`, :func:`max_reversal`, :func:`cpu_seconds`: what the experiments
  measure on every trained net.
- :class:`ImageBank`, :func:`bank_spec`, :func:`train_bank_models`: the same nets trained on a
  fixed set of images of any family (scaled shapes, scaled digits; ``validation.scaled_shapes``),
  and :func:`code_fold_scale`: where a code turns back along the scale.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> CentredDisks(16, 1.0, stratified=True)(4, rng).shape
(4, 16, 16)
>>> max_reversal([0.0, 1.0, 0.5, 2.0], [0.0, 1.0, 2.0, 3.0])
0.25
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
import time
from typing import Any, Mapping, Sequence

import numpy as np

import geoshape
from validation.core import IN_SWEEP_ENV

__all__ = ["CentredDisks", "disk_spec", "grid_specs", "train_runs", "train_models", "load_model",
           "codes_and_outputs", "cpu_seconds", "max_reversal", "pool_map", "step_reporter", "ImageBank", "bank_spec",
           "train_bank_models", "code_fold_scale"]


class CentredDisks:
    """Sampler for ``nets.train``: fresh centred disks, radius uniform on [0, size/2) minus
    ``exclude`` (None or (lo, hi)). Picklable, so it travels to worker processes.

    ``stratified=True`` draws one radius in each of the n equal cells of [0, size/2), in a
    random order: still uniform, but every batch's second-moment matrix is then close to the
    population's, so the minibatch gradient of the bias-free profile f is far less noisy (the
    profile is the top eigenvector of that matrix, eqs. 3-7). It covers the whole range, so it
    cannot be combined with ``exclude``.
    """

    def __init__(self, size: int, sigma: float, *, stratified: bool = False,
                 exclude: tuple[float, float] | None = None):
        self.size, self.sigma, self.stratified = size, sigma, bool(stratified)
        self.exclude = None if exclude is None else (float(exclude[0]), float(exclude[1]))
        if self.stratified and self.exclude is not None:
            raise ValueError("stratified radii cover all of [0, size/2): exclude must be None")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if not self.stratified:
            return geoshape.centred_disks(n, size=self.size, sigma=self.sigma, exclude=self.exclude,
                                          rng=rng).images
        cells = rng.permutation(n) + rng.random(n)
        return geoshape.disks(cells * (self.size / 2.0 / n), size=self.size, sigma=self.sigma)


def disk_spec(name: str, preset: str, *, size: int, sigma: float, seed: int, steps: int | None = None,
              lr: float | None = None, exclude=None, stratified: bool = False, model_changes: dict | None = None,
              train_changes: dict | None = None, progress: bool = False, threads: int = 1,
              device: str = "cpu") -> dict:
    """A picklable training spec from ``nets.PRESETS[preset]``; ``steps``/``lr`` None keep the
    preset's values (warm-up and evaluation interval are scaled down with short runs).
    ``seed`` seeds the model's initial weights and the training (give each training its own
    named stream, :func:`validation.core.stream_seed`)."""
    import nets

    p = nets.PRESETS[preset]
    train = dict(p["train"])
    if steps is not None:
        train["steps"] = steps
        train["eval_every"] = max(1, min(train.get("eval_every", 100), steps // 5))
        train["warmup_steps"] = min(train.get("warmup_steps", 0), steps // 10)
    if lr is not None:
        train["lr"] = lr
    train.update(threads=threads, seed=seed, progress=progress, val_size=512, device=device)
    train.update(train_changes or {})
    model = dataclasses.replace(p["model"], size=size, **(model_changes or {}))
    return {"name": name, "model": dataclasses.asdict(model), "train": train, "size": size,
            "sigma": sigma, "exclude": exclude, "stratified": stratified, "seed": seed}


def grid_specs(variants: Mapping[str, dict], replicates: Mapping[str, int], *, preset: str = "bias",
               cost: Mapping[str, float] | None = None, **common) -> list[dict]:
    """One :func:`disk_spec` per (variant, replicate), named ``"{variant}_{replicate}"``.

    ``variants[v]`` holds variant v's own ``disk_spec`` keywords, ``common`` those of all;
    ``replicates`` maps a replicate's label (``"rep0"``) to its seed, one named stream each
    (the same replicate seeds for every variant, so variants are compared net for net). With
    ``cost`` (relative cost per step of each variant) the specs come costliest first (a stable
    sort), so that the two workers of :func:`train_runs` finish at about the same time.
    """
    jobs = [(v, k) for v in variants for k in replicates]
    if cost:
        jobs.sort(key=lambda j: -cost[j[0]])
    return [disk_spec(f"{v}_{k}", preset, seed=replicates[k], **common, **variants[v]) for v, k in jobs]


#: Steps between two progress reports of a worker to the parent's bar.
_REPORT_EVERY = 25


def _train_disk_ae(spec: dict, make_sampler, steps_done) -> dict:
    """Train the DiskAE of ``spec`` on ``make_sampler()`` with one numba thread; the record the
    parent rebuilds the model from (state, history, wall and CPU seconds)."""
    import numba

    import nets

    numba.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    model = nets.DiskAE(nets.DiskAEConfig(**spec["model"]), seed=spec["seed"])
    callback, flush = step_reporter(steps_done)
    hist = nets.train(model, make_sampler(), nets.TrainConfig(**spec["train"]), callback=callback)
    flush(hist)
    return {"name": spec["name"], "model": spec["model"], "seed": spec["seed"],
            "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "history": hist.to_dict(), "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0}


def _run_one(spec: dict, steps_done=None) -> dict:
    """Train one DiskAE from a spec (in a worker process: one torch and one numba thread).

    ``steps_done``: a queue the worker puts step counts on for the parent's one progress
    bar, or None (the spec's own ``progress`` setting then applies).
    """
    return _train_disk_ae(spec, lambda: CentredDisks(spec["size"], spec["sigma"], stratified=spec["stratified"],
                                                     exclude=spec["exclude"]), steps_done)


def train_runs(specs: Sequence[dict], parallel: bool = True) -> list[dict]:
    """Train every spec; results in the order of ``specs``. With ``parallel``, two spawned
    worker processes take the specs in order as they free up (put the longest first)."""
    # In the pool one bar in the parent replaces the runs' own bars.
    one_bar = parallel and len(specs) > 1 and any(s["train"].get("progress") for s in specs)
    if one_bar:
        specs = [dict(s, train=dict(s["train"], progress=False)) for s in specs]
    return pool_map(_run_one, specs, steps=[int(s["train"]["steps"]) for s in specs], parallel=parallel,
                    progress=one_bar, desc=f"{len(specs)} disk AEs")


def pool_map(fn, specs: Sequence[Any], *, steps: Sequence[int], parallel: bool = True, progress: bool = False,
             desc: str = "runs") -> list[Any]:
    """``[fn(spec, steps_done) for spec in specs]``, on two spawned single-threaded worker
    processes when ``parallel`` (one per core of the 2-core machine), in order.

    ``fn`` must be a module-level function (it is pickled). ``steps_done`` is a queue on which
    ``fn`` puts the number of steps it has done since its last report, for one progress bar
    in the parent over ``sum(steps)`` (two bars drawn by two processes on one terminal line
    garble each other); it is None without ``progress`` or without ``parallel``. Inside a run
    of a sweep (:mod:`validation.runners.sweep`, which already gives every run its own process) the
    specs run one after another in the calling process.
    """
    if os.environ.get(IN_SWEEP_ENV) == "1":
        parallel = False
    if not (parallel and len(specs) > 1):
        return [fn(s, None) for s in specs]
    ctx = multiprocessing.get_context("spawn")
    if not progress:
        with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            return list(pool.map(fn, specs, [None] * len(specs)))
    import threading

    from tqdm.auto import tqdm

    with ctx.Manager() as manager:
        queue = manager.Queue()
        bar = tqdm(total=int(sum(steps)), desc=f"{desc} on 2 processes", unit="step", mininterval=1.0)

        def follow():
            while (n := queue.get()) is not None:
                bar.update(n)

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        try:
            with cf.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
                return list(pool.map(fn, specs, [queue] * len(specs)))
        finally:
            queue.put(None)
            reader.join(timeout=5)
            bar.close()


def step_reporter(steps_done, every: int = _REPORT_EVERY):
    """A ``nets.train`` callback putting step counts on ``steps_done`` (see :func:`pool_map`),
    and a ``flush(history)`` to call after training; ``(None, no-op)`` for ``steps_done=None``."""
    if steps_done is None:
        return None, lambda history: None
    last = [0]

    def callback(step, _model, _terms):
        if step - last[0] >= every:
            steps_done.put(step - last[0])
            last[0] = step

    def flush(history):
        steps_done.put((history.steps[-1] if history.steps else 0) - last[0])

    return callback, flush


def load_model(run: dict):
    """The trained ``nets.DiskAE`` of a :func:`train_runs` result, in eval mode."""
    import nets

    m = nets.DiskAE(nets.DiskAEConfig(**run["model"]), seed=run["seed"])
    m.load_state_dict(run["state"])
    return m.eval()


def train_models(specs: Sequence[dict], parallel: bool = True) -> tuple[dict, dict]:
    """:func:`train_runs` then :func:`load_model`: ``({name: run}, {name: model})`` in the
    order of ``specs``."""
    runs = {r["name"]: r for r in train_runs(specs, parallel)}
    return runs, {name: load_model(r) for name, r in runs.items()}


def codes_and_outputs(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D-latent net's codes ``(n,)`` float64 and reconstructions ``(n, s, s)`` float32 of
    ``images`` ``(n, s, s)`` float32, in one batch without gradients."""
    import torch

    x = torch.from_numpy(images)[:, None]
    with torch.no_grad():
        return model.encode(x)[:, 0].numpy().astype(np.float64), model(x)[:, 0].numpy()


def cpu_seconds(runs) -> float:
    """Total training CPU seconds of :func:`train_runs` results (a list or a dict's values)."""
    return float(sum(r["cpu_seconds"] for r in runs))


def max_reversal(z, r) -> float:
    """Largest step of ``z(r)`` against its dominant direction, over ``max z - min z``.

    With ``r`` sorted and s the sign of the net change ``z(r_last) - z(r_first)``, this is
    ``max_{i<j} s (z_i - z_j)`` clipped at 0, relative to the range of z: 0 for a monotone z,
    1 when z comes all the way back. ``z``, ``r``: 1-D, equal length >= 2, z not constant.
    """
    z = np.asarray(z, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    if z.ndim != 1 or r.shape != z.shape or z.size < 2:
        raise ValueError(f"z and r must be 1-D of equal length >= 2, got {z.shape} and {r.shape}")
    z = z[np.argsort(r, kind="stable")]
    span = z.max() - z.min()
    if span == 0:
        raise ValueError("z must not be constant")
    s = 1.0 if z[-1] >= z[0] else -1.0
    zs = s * z
    return float(np.max(np.maximum.accumulate(zs) - zs) / span)


# ----------------------------------------------------------------------------- fixed training sets
class ImageBank:
    """Sampler for ``nets.train`` over a fixed training set ``images`` (n, s, s) float32 with
    one scale each (``scales`` (n,)): any family the disk AE is trained on (scaled shapes,
    scaled digits), drawn once. Picklable, so it travels to worker processes.

    The images are kept sorted by scale. ``stratified=True`` (default) draws a batch of ``m``
    as one image from each of ``m`` equal runs of the sorted bank, in a random order: each
    batch then spans the scales like the whole bank (the bias-free profile is the top
    eigenvector of the batch's second-moment matrix, eqs. 3-7, so its gradient is far less
    noisy; :class:`CentredDisks` does the same for fresh disks). ``stratified=False`` draws
    ``m`` images uniformly with replacement.

    >>> bank = ImageBank(np.arange(8, dtype=np.float32)[:, None, None] * np.ones((8, 2, 2), np.float32),
    ...                  np.arange(8.0)[::-1])
    >>> x = bank(4, np.random.default_rng(0))
    >>> sorted(int(v) for v in x[:, 0, 0] // 2)   # one image from each quarter of the scales
    [0, 1, 2, 3]
    """

    def __init__(self, images: np.ndarray, scales, *, stratified: bool = True):
        images = np.asarray(images, dtype=np.float32)
        scales = np.asarray(scales, dtype=np.float64)
        if images.ndim != 3 or scales.shape != (images.shape[0],) or images.shape[0] < 1:
            raise ValueError(f"images (n, s, s) and scales (n,) must match, got {images.shape} and {scales.shape}")
        order = np.argsort(scales, kind="stable")
        self.images, self.scales = np.ascontiguousarray(images[order]), scales[order]
        self.stratified = bool(stratified)
        self.size = int(images.shape[1])

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if not self.stratified:
            return self.images[rng.integers(0, len(self), n)]
        cells = (rng.permutation(n) + rng.random(n)) * (len(self) / n)
        return self.images[np.minimum(cells.astype(np.int64), len(self) - 1)]


def bank_spec(name: str, preset: str, *, images: np.ndarray, scales, seed: int, steps: int | None = None,
              lr: float | None = None,
              stratified: bool = True, model_changes: dict | None = None, train_changes: dict | None = None,
              progress: bool = False, threads: int = 1, device: str = "cpu") -> dict:
    """:func:`disk_spec` for a fixed training set (:class:`ImageBank`): the same recipe from
    ``nets.PRESETS[preset]`` at the images' side, trained by :func:`train_bank_models`."""
    images = np.asarray(images, dtype=np.float32)
    spec = disk_spec(name, preset, size=int(images.shape[1]), sigma=0.0, seed=seed, steps=steps, lr=lr,
                     model_changes=model_changes, train_changes=train_changes, progress=progress,
                     threads=threads, device=device)
    spec.update(images=images, scales=np.asarray(scales, dtype=np.float64), stratified=bool(stratified))
    return spec


def _run_bank(spec: dict, steps_done=None) -> dict:
    """Train one DiskAE on a :func:`bank_spec` (in a worker: one torch and one numba thread)."""
    return _train_disk_ae(spec, lambda: ImageBank(spec["images"], spec["scales"], stratified=spec["stratified"]),
                          steps_done)


def train_bank_models(specs: Sequence[dict], parallel: bool = False, progress: bool = False) -> tuple[dict, dict]:
    """Train every :func:`bank_spec` (two spawned processes with ``parallel``, in order as they
    free up; one after another otherwise): ``({name: run}, {name: model})`` in spec order."""
    one_bar = progress and parallel and len(specs) > 1
    if one_bar:
        specs = [dict(s, train=dict(s["train"], progress=False)) for s in specs]
    runs = pool_map(_run_bank, specs, steps=[int(s["train"]["steps"]) for s in specs], parallel=parallel,
                    progress=one_bar, desc=f"{len(specs)} disk AEs")
    runs = {r["name"]: r for r in runs}
    return runs, {name: load_model(r) for name, r in runs.items()}


def code_fold_scale(z, scales, *, rtol: float = 1e-3) -> float | None:
    """Where a code ``z(s)`` folds: the scale of its extremum; None if it is monotone.

    With the scales sorted, ``z`` is first oriented by the direction of its largest excursion
    from its value at the smallest scale (a bias-free net's codes start at E(0) = 0 and may all
    be negative; a net with biases may decrease). It folds if it ever comes back from its
    running maximum by more than ``rtol`` times its range (:func:`max_reversal`'s measure, so
    a slow decline over many small steps counts as well as one step); the fold is then read as
    :func:`theory.fold_scale` reads ``h(s)``: the scale where the oriented code is largest
    (scales on both sides share codes). ``rtol`` absorbs the float32 rounding of a net's codes
    (``theory.fold_scale`` uses 1e-6 on exact float64 codes).

    >>> print(code_fold_scale([0.0, 2.0, 3.0, 1.0], [0.0, 1.0, 2.0, 3.0]))
    2.0
    >>> print(code_fold_scale([5.0, 1.0, -2.0], [0.0, 1.0, 2.0]))
    None
    """
    z = np.asarray(z, dtype=np.float64)
    s = np.asarray(scales, dtype=np.float64)
    if z.ndim != 1 or s.shape != z.shape or z.size < 2:
        raise ValueError(f"z and scales must be 1-D of equal length >= 2, got {z.shape} and {s.shape}")
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(s))):
        raise ValueError("z and scales must be finite")
    if not 0.0 <= rtol <= 1.0:
        raise ValueError(f"rtol must be in [0, 1], got {rtol!r}")
    order = np.argsort(s, kind="stable")
    zs, ss = z[order], s[order]
    span = float(zs.max() - zs.min())
    if span == 0.0:
        raise ValueError("z must not be constant")
    dev = zs - zs[0]
    zs = zs * (1.0 if dev[np.argmax(np.abs(dev))] > 0 else -1.0)
    if np.max(np.maximum.accumulate(zs) - zs) <= rtol * span:
        return None
    return float(ss[np.argmax(zs)])
