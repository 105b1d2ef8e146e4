"""validation.runners.sweep and validation.runners.summary: the statistics on hand-computable tables,
checks before any run, and the runner end to end on Dask (a real --quick experiment compared
with a direct run, a rerun that skips, a failing run, a worker killed mid-run)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from validation.runners import summary as sweep_summary
from validation.runners import sweep
from validation.core import IN_SWEEP_ENV

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- statistics
def test_describe_on_a_hand_table():
    s = sweep_summary.describe([4.0, 1.0, None, 3.0, 2.0, float("nan")])
    assert s["n"] == 4 and s["n_missing"] == 2
    assert s["mean"] == 2.5 and s["median"] == 2.5 and s["min"] == 1.0 and s["max"] == 4.0
    assert s["std"] == pytest.approx(math.sqrt(5 / 3), rel=1e-15)  # ddof 1: sum of squares 5 over 3
    assert (s["q25"], s["q75"], s["iqr"]) == (1.75, 3.25, 1.5)  # linear interpolation at 0.75, 2.25
    one = sweep_summary.describe([7.0])
    assert one["median"] == 7.0 and math.isnan(one["std"])
    assert sweep_summary.describe([])["n"] == 0 and math.isnan(sweep_summary.describe([None])["mean"])
    assert sweep_summary.median_range(s) == "2.500 [1.000, 4.000] over 4 seeds"


def test_paired_on_hand_tables():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 9: 5.0}
    b = {0: 2.0, 1: 2.0, 2: 5.0, 3: 3.0, 7: 0.0}  # seeds 7 and 9 are not paired
    c = sweep_summary.paired(a, b)
    assert (c["n"], c["wins"], c["losses"], c["ties"]) == (4, 2, 1, 1)
    assert (c["mean_diff"], c["median_diff"], c["min_diff"], c["max_diff"]) == (0.5, 0.5, -1.0, 2.0)
    assert c["sign_p"] == 1.0  # 2 wins of 3 non-ties: P(X >= 2 or X <= 1) = 1
    # six wins out of six: sign test 2 / 2**6; exact Wilcoxon: only the all-positive and
    # all-negative sign patterns reach the extreme rank sum, 2 / 2**6
    up = sweep_summary.paired({s: 0.0 for s in range(6)}, {s: s + 1.0 for s in range(6)})
    assert up["sign_p"] == pytest.approx(2 / 64, rel=1e-12)
    assert up["wilcoxon_p"] == pytest.approx(2 / 64, rel=1e-12)
    same = sweep_summary.paired({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})
    assert same["ties"] == 2 and same["sign_p"] == 1.0 and math.isnan(same["wilcoxon_p"])
    assert sweep_summary.paired({}, {0: 1.0})["n"] == 0


def test_summarize_a_folder_by_hand(tmp_path):
    for point, vals in (("lam=0.1", [1.0, 2.0, 3.0]), ("lam=1.0", [2.0, 4.0, 3.0])):
        for s, v in enumerate(vals):
            d = tmp_path / point / f"seed={s}"
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({"err": v, "seconds.total": 1.0 + s}))
    out = sweep_summary.summarize(tmp_path)
    st = out["points"]["lam=0.1"]["metrics"]["err"]
    assert (st["n"], st["mean"], st["median"], st["iqr"]) == (3, 2.0, 2.0, 1.0)
    comp = out["paired_points"]["lam=1.0 vs lam=0.1"]
    assert set(comp) == {"err"}  # timings are summarised, never compared
    assert (comp["err"]["wins"], comp["err"]["ties"], comp["err"]["median_diff"]) == (2, 1, 1.0)
    for name in ("summary.json", "summary.md", "summary.png"):
        assert (tmp_path / name).is_file()
    assert "| err | 2.000 [1.000, 3.000] |" in (tmp_path / "summary.md").read_text()


def test_summary_shows_the_headlines_measured_and_plain_ones(tmp_path):
    import types

    from validation.core import SweepSpec

    module = types.SimpleNamespace(__name__="fake", SWEEP=SweepSpec(("a", "b"), ("{v}.mse", "angle"), (("a", "b"),)))
    full, lone = tmp_path / "full", tmp_path / "lone"
    for s in range(3):
        for root, metrics in ((full, {"a.mse": 1.0 + s, "b.mse": 2.0 + 2 * s, "angle": 0.5, "extra": 9.0}),
                              (lone, {"angle": 0.1 * s, "other": 4.0, "seconds.total": 3.0})):
            d = root / "default" / f"seed={s}"
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps(metrics))
    assert [h for h, _ in sweep_summary._shown(module, ["a.mse", "b.mse", "angle"])] == ["{v}.mse", "angle"]
    out = sweep_summary.summarize(full, module)
    text = (full / "summary.md").read_text()
    assert "| a.mse | 2.000 [1.000, 3.000] |" in text and "| angle | 0.500 [0.500, 0.500] |" in text
    assert "| extra |" not in text                                  # not a headline
    assert out["paired_variants"]["default"]["{v}.mse | b vs a"]["wins"] == 3
    assert not any(k.startswith("angle") for k in out["paired_variants"]["default"])   # plain: no pairs
    # a sweep that measured only a plain headline shows it alone, not empty variant columns
    assert sweep_summary._shown(module, ["angle", "other"]) == [("angle", {"": "angle"})]
    lone_out = sweep_summary.summarize(lone, module)
    assert "| angle | 0.100 [0.000, 0.200] |" in (lone / "summary.md").read_text()
    # the declared headlines it did not measure are named, not dropped in silence
    assert out["points"]["default"]["not_measured"] == []
    assert lone_out["points"]["default"]["not_measured"] == ["a.mse", "b.mse"]
    assert "Declared headlines no run measured (2): a.mse, b.mse" in (lone / "summary.md").read_text()
    # nothing declared was measured: every metric but the timings on its own
    assert sweep_summary._shown(module, ["other"]) == [("other", {"": "other"})]


def test_summary_figure_plots_every_declared_headline(tmp_path, monkeypatch):
    """More declared headlines than MAX_PANELS: every one gets a panel (the cap is for modules
    that declare none)."""
    import types

    from validation.core import SweepSpec

    n = sweep_summary.MAX_PANELS + 4
    # the run measures exactly its declared headlines, named so that sorted order is theirs
    module = types.SimpleNamespace(__name__="fake", SWEEP=SweepSpec(("a",), tuple(f"m{i:02d}" for i in range(n)), ()))
    for s in range(2):
        d = tmp_path / "default" / f"seed={s}"
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({f"m{i:02d}": float(i + s) for i in range(n)}))
    titles: list[str] = []
    from matplotlib.axes import Axes

    original = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda ax, t, *a, **k: (titles.append(t), original(ax, t, *a, **k))[1])
    sweep_summary.summarize(tmp_path, module)
    assert titles == [f"m{i:02d}" for i in range(n)]
    titles.clear()
    sweep_summary.summarize(tmp_path, None)    # nothing declared: the first MAX_PANELS metrics
    assert len(titles) == sweep_summary.MAX_PANELS


def test_ellipse_goals_over_seeds_on_a_hand_table():
    from validation import pca_ae_ellipses as E

    per_seed = {}
    for s in range(10):
        m = {}
        for v in E.SWEEP.variants:
            good = v == "pca_ae_packet"
            m.update({f"{v}.recon_mse": 0.01 if v == "ae" else 0.012,
                      f"{v}.pair.on_target.area": 0.99 if good else 0.9,
                      f"{v}.pair.on_target.hv_ratio": (0.70 + 0.02 * s) if good else 0.5,
                      f"{v}.pair.on_target.diag_ratio": 0.80 if good else 0.5,
                      f"{v}.pair.multiple_r.hv_ratio": 0.9, f"{v}.pair.multiple_r.diag_ratio": 0.84 if s == 3 else 0.9,
                      f"{v}.pair.off_target_excess_max": 0.01 * s,
                      f"{v}.factors.mig": (0.3 if s < 8 else 0.0) if good else 0.1,
                      f"{v}.factors.dci_disentanglement": 0.5 if good else 0.2,
                      f"{v}.factors.dci_gbt_disentanglement": 0.5 if good else 0.2})
        per_seed[s] = m
    nums, text = E.sweep_summary(per_seed)
    assert nums["best_is_packet"] == 1 and nums["n_seeds"] == 10
    # H/V 0.70, 0.72, ..., 0.88: median 0.79 >= 0.788, mean 0.79, min 0.70
    assert nums["hv_ratio_median"] == pytest.approx(0.79) and nums["hv_ratio_median.met"] == 1
    assert nums["hv_ratio_min"] == pytest.approx(0.70) and nums["hv_ratio_min.met"] == 1
    assert nums["multiple_r.diag_ratio_min.met"] == 0  # 0.84 on seed 3 < 0.85
    assert nums["excess_median"] == pytest.approx(0.045) and nums["excess_max.met"] == 1  # 0.09 <= 0.10
    assert nums["mig.wins_vs.ae"] == 8 and nums["mig wins vs ae (ae).met"] == 1
    assert nums["test mse / ae, median"] == pytest.approx(1.2) and nums["test mse / ae, median.met"] == 1
    assert "no, short by 0.010" in text  # the multiple R shortfall, 0.85 - 0.84


# --------------------------------------------------------------------------- checks before any run
def test_bad_sweeps_fail_before_any_run(tmp_path, capsys):
    out = tmp_path / "never"
    cases = [(["official_model", "--set", "steps=-1"], "steps"),
             (["official_model", "--set", "stepz=3"], "no field 'stepz'"),
             (["official_model", "--set", "seed=3"], "--seeds"),
             (["official_model", "--set", "steps=ten"], "cannot parse"),
             (["official_model", "--seeds", "3:x"], "--seeds"),
             (["official_model", "--device", "cuda"], "device"),
             (["no_such_experiment"], "not found"),
             (["official_model", "--workers", "0"], "workers")]
    for argv, msg in cases:
        with pytest.raises(SystemExit) as e:
            sweep.cli(argv + ["--out", str(out)])
        assert e.value.code == 2
        assert msg in capsys.readouterr().err, argv
    assert not out.exists()
    with pytest.raises(ValueError, match="distinct"):
        sweep.plan("official_model", [0, 0], out=out)
    with pytest.raises(ValueError, match="seeds"):
        sweep.plan("official_model", [-1], out=out)
    assert not out.exists()


def test_grid_parsing_and_point_folders(tmp_path):
    from validation import interpolation_official as I

    grid = sweep.parse_grid(I.Config, ["penalties=denoise;encoder_l2,denoise", "steps=10,20"], quick=True)
    assert grid == {"penalties": [("denoise",), ("encoder_l2", "denoise")], "steps": [10, 20]}
    runs = sweep.plan("interpolation_official", [0, 5], grid, quick=True, out=tmp_path)
    names = sorted({r.point for r in runs})
    assert names == ["penalties=denoise,steps=10", "penalties=denoise,steps=20",
                     "penalties=encoder_l2+denoise,steps=10", "penalties=encoder_l2+denoise,steps=20"]
    assert len(runs) == 8 and {r.seed for r in runs} == {0, 5}
    r = runs[-1]
    assert r.out == tmp_path / r.point / "seed=5" and r.config.out == str(r.out) and r.config.seed == 5


def test_an_experiments_own_pool_runs_in_process_inside_a_sweep(monkeypatch):
    from validation.runs.disk import pool_map

    monkeypatch.setenv(IN_SWEEP_ENV, "1")
    assert pool_map(_pid, [1, 2, 3], steps=[1, 1, 1], parallel=True) == [os.getpid()] * 3


def _pid(_spec, _queue):
    return os.getpid()


# --------------------------------------------------------------------------- end to end on Dask
def _results(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not sweep_summary.is_timing(k)}


def test_sweep_of_a_quick_experiment_equals_direct_runs_and_resumes(tmp_path):
    out = tmp_path / "sw"
    res = sweep.run("official_model", [0, 1], {"steps": [100]}, quick=True, out=out, workers=2, progress=False)
    assert set(res.status.values()) == {"done"} and not res.failures
    for s in (0, 1):
        run_dir = out / "steps=100" / f"seed={s}"
        direct = tmp_path / f"direct{s}"
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-m", "validation.official_model", "--quick", "--steps", "100",
                        "--seed", str(s), "--out", str(direct)], check=True, env=env, cwd=REPO,
                       capture_output=True)
        a = json.loads((run_dir / "config.json").read_text())
        b = json.loads((direct / "config.json").read_text())
        # the run recorded whole, identical but for its folder: config, trainings, streams, versions
        assert a["config"].pop("out") == str(run_dir) and b["config"].pop("out") == str(direct) and a == b
        assert a["trainings"]["official_ae"]["train_config"]["steps"] == 100 and a["streams"]
        ma = json.loads((run_dir / "metrics.json").read_text())
        mb = json.loads((direct / "metrics.json").read_text())
        assert _results(ma) == _results(mb) and len(_results(ma)) > 10  # bit-identical
    summary = json.loads((out / "summary.json").read_text())
    assert summary["points"]["steps=100"]["metrics"]["r2_z_area"]["n"] == 2
    again = sweep.run("official_model", [0, 1], {"steps": [100]}, quick=True, out=out, progress=False)
    assert set(again.status.values()) == {"skipped"}
    with pytest.raises(ValueError, match="different sweep"):
        sweep.run("official_model", [0, 1, 2], {"steps": [100]}, quick=True, out=out, progress=False)


FAKE = textwrap.dedent('''
    """A stand-in experiment for the runner's tests: fails on one seed, kills its worker once."""
    import os
    from dataclasses import dataclass
    from pathlib import Path

    from validation.core import Result, write_outputs


    @dataclass(frozen=True)
    class Config:
        seed: int = 0
        out: str = "fake"
        fail_seed: int = -1
        die_once: str = ""          # marker file name in the sweep folder: kill the worker once
        sleep: float = 0.0          # seconds a run takes

        @classmethod
        def quick(cls):
            return cls()


    def main(config):
        if config.seed == config.fail_seed:
            raise RuntimeError("planned failure")
        marker = Path(config.out).parent.parent / config.die_once
        if config.die_once and config.seed == 0 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)   # the worker process dies with the run in flight
        import time
        import torch
        end = time.perf_counter() + config.sleep
        while time.perf_counter() < end:  # busy, holding the GIL, as a training does
            pass
        m = {"value": 2.0 * config.seed + 1.0, "pid": os.getpid(), "torch_threads": torch.get_num_threads()}
        write_outputs(Path(config.out), config, m)
        return Result(config, m, "", Path(config.out))
''')


def test_failing_run_reported_and_killed_worker_survived(tmp_path, monkeypatch):
    (tmp_path / "fake_sweep_experiment.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO)]))
    out = tmp_path / "sw"
    res = sweep.run("fake_sweep_experiment", [0, 1, 2], {"fail_seed": [2], "die_once": ["died"]}, out=out,
                    workers=2, progress=False)
    point = "fail_seed=2,die_once=died"
    assert res.status == {(point, 0): "done", (point, 1): "done", (point, 2): "failed"}
    died_pid = int((out / "died").read_text())  # a worker did die on seed 0 ...
    m0 = json.loads((out / point / "seed=0" / "metrics.json").read_text())
    assert m0["value"] == 1.0 and m0["pid"] != died_pid  # ... and the run was redone elsewhere
    assert m0["torch_threads"] == 1  # the worker's thread count
    summary = json.loads((out / "summary.json").read_text())
    (fail,) = summary["failures"]
    assert fail["seed"] == 2 and "planned failure" in fail["error"] and "RuntimeError" in fail["traceback"]
    assert "planned failure" in (out / "summary.md").read_text()
    assert not (out / point / "seed=2" / "metrics.json").exists()
    assert summary["points"][point]["metrics"]["value"]["median"] == 2.0  # seeds 0, 1: 1 and 3


def test_every_run_of_a_sweep_shares_one_dask_task_prefix():
    # Dask learns durations and steals queued tasks per prefix (its own key_split); a prefix
    # per run left a worker idle while another held two runs.
    from dask.utils import key_split

    keys = [sweep._task_key("validation.pca_ae_ellipses") for _ in range(5)]
    assert len(set(keys)) == 5
    assert {key_split(k) for k in keys} == {"sweep_pca_ae_ellipses"}
    assert key_split(sweep._task_key("my-exp")) != key_split(sweep._task_key("validation.official_model"))


def test_runs_spread_over_every_worker(tmp_path, monkeypatch):
    # Four equal runs on two workers take two rounds only if each worker takes two of them.
    (tmp_path / "fake_sweep_experiment.py").write_text(FAKE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(REPO)]))
    out = tmp_path / "sw"
    res = sweep.run("fake_sweep_experiment", range(4), {"sleep": [3.0]}, out=out, workers=2, progress=False)
    assert set(res.status.values()) == {"done"}
    pids = [json.loads((out / "sleep=3.0" / f"seed={s}" / "metrics.json").read_text())["pid"] for s in range(4)]
    assert sorted(pids.count(p) for p in set(pids)) == [2, 2]


def test_bench_sweep_quick_same_results_on_one_and_two_workers(tmp_path):
    from validation.bench import sweep as bench_sweep

    cfg = bench_sweep.Config(runs=2, steps=10, repeats=2, out=str(tmp_path / "b"))
    m = bench_sweep.main(cfg).metrics
    assert m["same_results"] == 1  # one thread a run: the worker count must not change a number
    assert m["throughput_ratio"] == pytest.approx(m["seconds_1_worker"] / m["seconds_2_workers"])
    assert {"throughput_ratio_repeat0", "throughput_ratio_repeat1"} <= set(m)
    assert "throughput_ratio_repeat2" not in m
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["runs"] == 2
    with pytest.raises(ValueError, match="runs"):
        bench_sweep.Config(runs=0)
    with pytest.raises(ValueError, match="repeats"):
        bench_sweep.Config(repeats=0)
