"""Speed of the training engine against a minimal PyTorch loop, side by side in one run.

    python -m validation.bench.nets [--quick] [--out DIR] [--seconds S]

Data: ``geoshape.centred_disks`` (radii U[0, 32), sigma 1, 64x64), drawn per batch; a fixed
validation set of 512 disks. Model: ``DiskAE`` with biases (widths (8, 8, 16, 16, 32, 32)),
batch 64, Adam 1e-3 -- the setting of the project's reference figure (a plain loop reaching
validation MSE 1e-3 per pixel in about 20 s, 1e-4 in 180 s, 34 steps/s, 2 cores).

Rows (each trains for the same wall-clock budget, so time-to-MSE is comparable):

* ``plain``: a minimal loop (NCHW, data generated inline), torch's default thread count and 1;
* ``engine``: ``nets.train`` with its defaults (torch's thread count, channels-last, data
  prefetch only when a core is left free), same lr;
* variants: 1 thread (prefetch then on), 2 threads with prefetch forced on, channels-last off;
* ``preset:bias`` and ``preset:bias_free``: the recipes of ``nets.disk_ae.PRESETS`` (on the
  engine's default thread count instead of the presets' 1, as a lone training would run).

Also measured: the cost of generating one batch of disks; raw steps/s on a fixed batch, for
1 and 2 threads, channels-last on/off, ``torch.compile``, and with a busy process holding one
core (the case for ``threads=1``).
Writes ``metrics.json`` (atomically) into ``--out`` (default ``results/bench_nets``,
``results/bench_nets_quick`` with ``--quick``) and prints a table. ``--quick`` runs each
row for a few seconds (under a minute in all); the full run takes about 15 minutes on 2 cores.
Timings on a shared machine vary by tens of percent from run to run; compare rows of one run.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nets import DiskAE, DiskAEConfig, PRESETS, TrainConfig, train

from geoshape.io import atomic_write_json

TARGETS = (1e-3, 3e-4, 1e-4)
VAL_SEED = 12345


def _sampler():
    import geoshape

    def sample(n, rng):
        return geoshape.centred_disks(n, rng=rng).images

    return sample


def _val(sample) -> np.ndarray:
    return sample(512, np.random.default_rng(VAL_SEED))


def _row(name: str, hist_time, hist_val, steps: int, seconds: float, **extra) -> dict:
    row = {"name": name, "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds if seconds else math.nan,
           "final_val_mse": hist_val[-1] if hist_val else math.nan}
    for t in TARGETS:
        hit = next((tt for tt, v in zip(hist_time, hist_val) if v <= t), None)
        row[f"time_to_{t:g}"] = hit
    row.update(extra)
    return row


def plain_loop(sample, val: np.ndarray, seconds: float, *, lr: float = 1e-3, eval_every: int = 100,
               threads: int | None = None, seed: int = 0) -> dict:
    """The minimal loop the engine is held against: no channels-last, no prefetch."""
    prev = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        model = DiskAE(DiskAEConfig(), seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        rng = np.random.default_rng(seed)
        xv = torch.from_numpy(val)[:, None]
        times, vals, step = [], [], 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            x = torch.from_numpy(sample(64, rng))[:, None]
            loss = torch.mean((model(x) - x) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % eval_every == 0:
                with torch.no_grad():
                    vals.append(float(torch.mean((model(xv) - xv) ** 2)))
                times.append(time.perf_counter() - t0)
        if step % eval_every:
            with torch.no_grad():
                vals.append(float(torch.mean((model(xv) - xv) ** 2)))
            times.append(time.perf_counter() - t0)
        name = "plain" if threads is None else f"plain threads={threads}"
        return _row(name, times, vals, step, time.perf_counter() - t0, threads=torch.get_num_threads())
    finally:
        torch.set_num_threads(prev)


def engine_run(name: str, sample, val, seconds: float, model_cfg: DiskAEConfig, **train_kw) -> dict:
    steps = train_kw.pop("steps", 10**7)
    cfg = TrainConfig(steps=steps, progress=False, **{"eval_every": 100, **train_kw})
    model = DiskAE(model_cfg, seed=0)
    stop = time.perf_counter() + seconds
    h = train(model, sample, cfg, val_data=val, callback=lambda *a: time.perf_counter() > stop)
    return _row(name, h.time, h.val_mse, h.steps[-1], h.seconds, threads=cfg.resolved_threads(),
                channels_last=cfg.channels_last, prefetch=cfg.resolved_prefetch())


def raw_steps_per_s(model_cfg: DiskAEConfig, *, threads: int, channels_last: bool, compile: bool = False,
                    seconds: float = 3.0) -> dict:
    """Steps/s on one fixed random batch (no data cost, no validation)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    try:
        model = DiskAE(model_cfg, seed=0)
        x = torch.rand(64, 1, 64, 64, generator=torch.Generator().manual_seed(0))
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        fwd = torch.compile(model) if compile else model

        def step():
            loss = torch.mean((fwd(x) - x) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()

        t_first = time.perf_counter()
        step()  # warm-up: first Adam step imports torch._dynamo; compile traces here
        first = time.perf_counter() - t_first
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
            n += 1
        return {"threads": threads, "channels_last": channels_last, "compile": compile,
                "steps_per_s": n / (time.perf_counter() - t0), "first_step_s": first}
    finally:
        torch.set_num_threads(prev)
        torch.set_flush_denormal(False)


def contended_steps_per_s(model_cfg: DiskAEConfig, *, seconds: float) -> list[dict]:
    """Raw steps/s on 1 and 2 threads while a busy Python process holds one core."""
    import subprocess

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        return [{**raw_steps_per_s(model_cfg, threads=th, channels_last=True, seconds=seconds), "contended": True}
                for th in (1, 2)]
    finally:
        busy.kill()
        busy.wait()


def data_cost(sample, reps: int = 30) -> float:
    rng = np.random.default_rng(0)
    sample(64, rng)  # numba compile / cache load
    t0 = time.perf_counter()
    for _ in range(reps):
        sample(64, rng)
    return (time.perf_counter() - t0) / reps


def run(quick: bool, out: Path, seconds: float | None) -> dict:
    sample = _sampler()
    val = _val(sample)
    per_row = seconds if seconds is not None else (6.0 if quick else 90.0)
    model_cfg = DiskAEConfig()
    results: dict = {"quick": quick, "seconds_per_row": per_row, "machine": {
        "cpus": __import__("os").cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
        "default_threads": torch.get_num_threads()}}
    results["data_ms_per_batch"] = 1000 * data_cost(sample)
    raw = []
    for th in (1, 2):
        for cl in (False, True):
            raw.append(raw_steps_per_s(model_cfg, threads=th, channels_last=cl, seconds=2.0 if quick else 5.0))
    if not quick:
        try:
            raw.append(raw_steps_per_s(model_cfg, threads=1, channels_last=True, compile=True, seconds=5.0))
        except Exception as exc:  # report, do not fail the benchmark
            raw.append({"compile": True, "error": repr(exc)[:300]})
    raw += contended_steps_per_s(model_cfg, seconds=2.0 if quick else 5.0)
    results["raw"] = raw

    ev = 25 if quick else 100
    rows = [plain_loop(sample, val, per_row, eval_every=ev), plain_loop(sample, val, per_row, eval_every=ev, threads=1)]
    rows.append(engine_run("engine", sample, val, per_row, model_cfg, lr=1e-3, eval_every=ev))
    rows.append(engine_run("engine threads=1", sample, val, per_row, model_cfg, lr=1e-3, eval_every=ev, threads=1))
    if not quick:
        rows.append(engine_run("engine threads=2 prefetch", sample, val, per_row, model_cfg, lr=1e-3, threads=2,
                               prefetch=True))
        rows.append(engine_run("engine no channels-last", sample, val, per_row, model_cfg, lr=1e-3,
                               channels_last=False))
    for name in ("bias", "bias_free"):
        p = PRESETS[name]
        budget = per_row if quick else p.get("budget_s", 180.0)
        # The presets pin threads=1 (disk_vs_airy trains two nets at once); alone, a training
        # gets the engine's default thread count.
        rows.append(engine_run(f"preset:{name}", sample, val, budget, p["model"], **{**p["train"], "threads": None}))
    results["rows"] = rows
    plain, plain1, eng, eng1 = rows[0], rows[1], rows[2], rows[3]
    results["engine_over_plain_steps_per_s"] = eng["steps_per_s"] / plain["steps_per_s"]
    results["engine_over_plain_1thread_steps_per_s"] = eng1["steps_per_s"] / plain1["steps_per_s"]
    atomic_write_json(results, out / "metrics.json")
    return results


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def print_table(results: dict) -> None:
    print(f"data: {results['data_ms_per_batch']:.1f} ms per batch of 64 disks")
    print("raw steps/s on a fixed batch:")
    for r in results["raw"]:
        if "error" in r:
            print(f"  compile: failed ({r['error']})")
        else:
            busy = "  (a busy process holds one core)" if r.get("contended") else ""
            print(f"  threads={r['threads']} channels_last={r['channels_last']!s:5} compile={r['compile']!s:5} "
                  f"{r['steps_per_s']:6.1f} steps/s (first step {r['first_step_s']:.2f} s){busy}")
    cols = ["name", "steps", "seconds", "steps_per_s", "final_val_mse"] + [f"time_to_{t:g}" for t in TARGETS]
    print(" | ".join(f"{c:>16}" for c in cols))
    for row in results["rows"]:
        print(" | ".join(f"{_fmt(row.get(c)):>16}" for c in cols))
    print(f"engine / plain steps/s: {results['engine_over_plain_steps_per_s']:.2f} "
          f"(default threads), {results['engine_over_plain_1thread_steps_per_s']:.2f} (both 1 thread)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m validation.bench.nets", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds per row (under a minute)")
    ap.add_argument("--out", type=Path, default=None,
                    help="directory for metrics.json (default results/bench_nets, results/bench_nets_quick with --quick)")
    ap.add_argument("--seconds", type=float, default=None, help="wall-clock budget per row (overrides the mode)")
    args = ap.parse_args(argv)
    if args.seconds is not None and not (args.seconds > 0 and math.isfinite(args.seconds)):
        ap.error("--seconds must be a positive number")
    out = args.out or Path("results/bench_nets_quick" if args.quick else "results/bench_nets")
    results = run(args.quick, out, args.seconds)
    print_table(results)
    print(f"wrote {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
