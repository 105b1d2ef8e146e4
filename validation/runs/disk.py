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
           "codes_and_outputs", "cpu_seconds", "max_reversal", "pool_map", "step_reporter"]


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


def disk_spec(name: str, preset: str, *, size: int, sigma: float, seed: int, steps: int = 0,
              lr: float = 0.0, exclude=None, stratified: bool = False, model_changes: dict | None = None,
              train_changes: dict | None = None, progress: bool = False, threads: int = 1,
              device: str = "cpu") -> dict:
    """A picklable training spec from ``nets.PRESETS[preset]``; ``steps``/``lr`` 0 keep the
    preset's values (warm-up and evaluation interval are scaled down with short runs).
    ``seed`` seeds the model's initial weights and the training (give each training its own
    named stream, :func:`validation.core.stream_seed`)."""
    import nets

    p = nets.PRESETS[preset]
    train = dict(p["train"])
    if steps:
        train["steps"] = steps
        train["eval_every"] = max(1, min(train.get("eval_every", 100), steps // 5))
        train["warmup_steps"] = min(train.get("warmup_steps", 0), steps // 10)
    if lr:
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


def _run_one(spec: dict, steps_done=None) -> dict:
    """Train one DiskAE from a spec (in a worker process: one torch and one numba thread).

    ``steps_done``: a queue the worker puts step counts on for the parent's one progress
    bar, or None (the spec's own ``progress`` setting then applies).
    """
    import numba

    import nets

    numba.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    model = nets.DiskAE(nets.DiskAEConfig(**spec["model"]), seed=spec["seed"])
    sampler = CentredDisks(spec["size"], spec["sigma"], stratified=spec["stratified"], exclude=spec["exclude"])
    callback, flush = step_reporter(steps_done)
    hist = nets.train(model, sampler, nets.TrainConfig(**spec["train"]), callback=callback)
    flush(hist)
    return {"name": spec["name"], "model": spec["model"], "seed": spec["seed"],
            "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "history": hist.to_dict(), "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0}


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
