"""The experiment contract: configs, the registry, the command line, named random streams.

Every registered experiment's ``Config`` is an ``ExperimentConfig`` (seed, out, threads,
device), documents each field, writes a quick run to ``results/NAME_quick``, and draws every
random stream from ``SeedSequence(seed)`` by name -- never ``seed + k`` -- so two seeds of a
sweep share no training image, no test image and no initial weight.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import io
import json
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

from validation.core import EXPERIMENTS, REGISTRY, ExperimentConfig, Streams, SweepSpec, stream_seed
from validation.core.run import parse_cli, write_outputs

ROOT = Path(__file__).resolve().parents[1]
NAMES = [e.name for e in EXPERIMENTS]


def _module(name):
    return importlib.import_module(f"validation.{name}")


@pytest.mark.parametrize("name", NAMES)
def test_config_is_the_contract(name):
    cls = _module(name).Config
    assert issubclass(cls, ExperimentConfig) and cls.NAME == name
    full, quick = cls(), cls.quick()
    assert full.output_dir == Path("results") / name
    assert quick.output_dir == Path("results") / f"{name}_quick"
    assert quick.quick_run and not full.quick_run
    assert cls.quick(out="/tmp/x").output_dir == Path("/tmp/x")
    fields = {f.name for f in dataclasses.fields(cls)}
    assert {"seed", "out", "threads", "device"} <= fields
    for f in dataclasses.fields(cls):
        doc = f.metadata.get("doc", "")
        assert len(doc) >= 10, f"{name}.{f.name} has no documentation line"
    # the quick changes name real fields and are checked like any config
    assert set(cls.QUICK) <= fields, set(cls.QUICK) - fields


@pytest.mark.parametrize("name", NAMES)
def test_help_prints_every_field_with_its_documentation(name, capsys):
    cls = _module(name).Config
    with pytest.raises(SystemExit) as e:
        parse_cli(cls, ["--help"], "demo")
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(cls):
        if f.name == "quick_run":
            continue
        assert f"--{f.name}" in text
        assert " ".join(f.metadata["doc"].split())[:30] in text, f.name
    spec = REGISTRY[name]
    assert f"quick {spec.quick_time}" in text and f"full {spec.full_time}" in text


@pytest.mark.parametrize("name, field, bad, error", [
    ("disk_vs_airy", "sigma", 0.0, ValueError), ("disk_vs_airy", "size", 48, ValueError),
    ("disk_encoder", "threads", 0, ValueError), ("interpolation", "device", "tpu", ValueError),
    ("position_decoder", "seed", -1, ValueError), ("official_model", "steps", 1.5, TypeError),
    ("bias_ablation", "out", 3, TypeError), ("position_encoder", "lr", float("nan"), ValueError)])
def test_bad_fields_are_refused_by_name(name, field, bad, error):
    with pytest.raises(error, match=field):
        _module(name).Config(**{field: bad})


def test_cli_parses_optional_and_tuple_fields():
    from validation import disk_encoder, interpolation

    cfg = parse_cli(disk_encoder.Config, ["--quick", "--threads", "2", "--seed", "5"], "demo")
    assert cfg.threads == 2 and cfg.seed == 5 and cfg.torch_threads == 2 and cfg.quick_run
    assert cfg.output_dir == Path("results/disk_encoder_quick")
    cfg = parse_cli(interpolation.Config, ["--gap", "10,15", "--threads", "none"], "demo")
    assert cfg.gap == (10.0, 15.0) and cfg.threads is None and cfg.torch_threads == 1


def test_listing_names_every_experiment_with_times():
    from validation.__main__ import listing

    text = listing()
    for e in EXPERIMENTS:
        assert f"{e.name}  (quick {e.quick_time}, full {e.full_time})" in text


def test_report_and_sweep_use_the_registry():
    from validation.runners import report, sweep

    assert [n for n, _, _ in report.EXPERIMENTS] == NAMES
    for name in NAMES:
        assert sweep._module(name).__name__ == f"validation.{name}"


# ----------------------------------------------------------------------------- streams
def test_streams_are_seedsequence_children_by_name():
    # independent reference: numpy's own SeedSequence with the name's CRC-32 as spawn key
    import zlib

    ref = np.random.SeedSequence(7, spawn_key=(zlib.crc32(b"test"),)).generate_state(1, np.uint64)[0] >> np.uint64(1)
    assert stream_seed(7, "test") == int(ref)
    values = {stream_seed(s, n) for s in range(50) for n in ("test", "train/data", "replicate/0", "replicate/1")}
    assert len(values) == 200          # no two (seed, name) pairs share a stream
    st = Streams(3)
    st("a"), st("b")
    assert st.used == {"a": stream_seed(3, "a"), "b": stream_seed(3, "b")}
    with pytest.raises(TypeError, match="name"):
        st("")


_OFFSET = re.compile(r"seed\s*[-+*]\s*[\w(]|[\w)]\s*[-+*]\s*(cfg|config|self)\.seed\b")


EXPERIMENT_CODE = sorted([*(ROOT / "validation").glob("*.py"), *(ROOT / "validation" / "runs").glob("*.py")])


@pytest.mark.parametrize("path", EXPERIMENT_CODE, ids=lambda p: str(p.relative_to(ROOT / "validation")))
def test_no_stream_is_derived_by_an_offset(path):
    """The run's seed only enters through ``Streams(seed)`` / ``stream_seed(seed, name)``."""
    src = path.read_text()
    # the code alone: strings (docstrings, messages) and comments may speak of offsets
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    code = " ".join(t.string for t in toks if t.type not in (tokenize.STRING, tokenize.COMMENT))
    tree = ast.parse(src)
    hit = _OFFSET.search(code)
    assert not hit, f"{path.name}: a stream derived from seed by arithmetic: {hit.group(0)!r}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "seed" and isinstance(node.value, ast.Name) \
                and node.value.id in ("cfg", "config"):
            parent = [p for p in ast.walk(tree) if isinstance(p, ast.Call) and node in p.args]
            names = {getattr(p.func, "id", getattr(p.func, "attr", "")) for p in parent}
            assert names & {"Streams", "stream_seed"} or _in_text(node, src), \
                f"{path.name}:{node.lineno}: {node.value.id}.seed used outside Streams / stream_seed"


def _in_text(node, src) -> bool:
    """An f-string or a message that only prints the seed."""
    line = src.splitlines()[node.lineno - 1]
    return "f\"" in line or "f'" in line


def _tiny_decoder(tmp_path, seed):
    from validation import position_decoder as dec

    cfg = dec.Config(length=8, hidden=(16,), steps=2, batch_size=8, n_test=64, n_sweep=11, seed=seed,
                     out=str(tmp_path / f"s{seed}"))
    return dec.main(cfg)


def test_two_seeds_share_no_test_position_and_no_initial_weight(tmp_path):
    a, b = _tiny_decoder(tmp_path, 0), _tiny_decoder(tmp_path, 1)
    ta = np.load(a.out / "decoder.npz")["test_position"]
    tb = np.load(b.out / "decoder.npz")["test_position"]
    assert np.intersect1d(ta, tb).size == 0
    # Two Adam steps of lr 2e-3 move a weight by at most ~4e-3: nets drawn from one initial
    # state would stay that close; independent draws differ by the init's scale (~0.1).
    wa, wb = torch.load(a.out / "weights.pt", weights_only=True), torch.load(b.out / "weights.pt", weights_only=True)
    for model in wa:
        for k in wa[model]:
            if wa[model][k].numel() > 4:
                assert (wa[model][k] - wb[model][k]).abs().max() > 0.02, (model, k)
    sa = json.loads((a.out / "config.json").read_text())["streams"]
    sb = json.loads((b.out / "config.json").read_text())["streams"]
    assert set(sa) == set(sb) and not set(sa.values()) & set(sb.values())


def test_config_json_records_the_run_whole(tmp_path):
    res = _tiny_decoder(tmp_path, 0)
    rec = json.loads((res.out / "config.json").read_text())
    assert rec["config"]["experiment"] == "position_decoder" and rec["config"]["seed"] == 0
    assert rec["versions"]["torch"] == torch.__version__.split("+")[0] or rec["versions"]["torch"] == torch.__version__
    assert set(rec["trainings"]) == {"integer", "continuous"}
    for t in rec["trainings"].values():
        assert t["model"]["class"] == "PositionDecoder" and t["model"]["config"]["hidden"] == [16]
        tc = t["train_config"]
        assert tc["steps"] == 2 and tc["threads"] == 1 and tc["betas"] == [0.9, 0.999]
        assert tc["seed"] in rec["streams"].values()
    assert "git_commit" in rec


def test_write_outputs_is_whole_or_nothing(tmp_path):
    from validation import position_decoder as dec

    cfg = dec.Config(out=str(tmp_path))
    with pytest.raises(TypeError):
        write_outputs(tmp_path, cfg, {"a": 1.0}, histories={"x": object()})
    assert not (tmp_path / "config.json").exists() and not (tmp_path / "metrics.json").exists()


# ----------------------------------------------------------------------------- sweep declarations
def test_sweep_spec_refuses_a_pair_naming_a_missing_variant():
    with pytest.raises(ValueError, match="'c'"):
        SweepSpec(("a", "b"), ("{v}.x",), (("a", "c"),))
    with pytest.raises(ValueError, match="needs variants"):
        SweepSpec((), ("{v}.x",))
    with pytest.raises(ValueError, match="at least one"):
        SweepSpec(("a",), ())
    assert SweepSpec((), ("mse", "r2")).metrics() == [("mse", {}), ("r2", {})]


@pytest.mark.parametrize("name", NAMES)
def test_every_experiment_declares_its_headlines(name):
    spec = _module(name).SWEEP
    assert isinstance(spec, SweepSpec)


@pytest.mark.parametrize("name", NAMES)
def test_module_docstring_is_the_contract_not_lab_notes(name):
    # claim, command, outputs, run time and the results page; measured history lives in the docs
    doc = ast.get_docstring(ast.parse((ROOT / "validation" / f"{name}.py").read_text()))
    assert len(doc.splitlines()) <= 22
    assert f"python -m validation.{name}" in doc and "Run time" in doc
    assert f"docs/results/{name}.md" in doc and (ROOT / "docs" / "results" / f"{name}.md").is_file()


def test_registry_lookup_names_the_argument():
    from validation.core.registry import experiment, module

    assert experiment("disk_vs_airy").command == "python -m validation.disk_vs_airy"
    assert module("position_decoder").Config.NAME == "position_decoder"
    with pytest.raises(ValueError, match="name must be one of"):
        experiment("disk_vs_ary")
    with pytest.raises(TypeError, match="name"):
        experiment(3)
    with pytest.raises(ValueError, match="seed"):
        stream_seed(-1, "test")
    with pytest.raises(TypeError, match="doc"):
        from validation.core import param
        param(1, "")


@pytest.mark.parametrize("name", ["geoshape", "nets", "official", "sweep", "grouped"])
def test_every_benchmark_answers_help(name, capsys):
    """``python -m validation.bench.NAME --help`` prints its options and exits 0, run_cli-based
    benchmarks included (their configs declare NAME, which --help's --quick line names)."""
    mod = importlib.import_module(f"validation.bench.{name}")
    entry = mod.cli if hasattr(mod, "cli") else mod.main
    with pytest.raises(SystemExit) as exit_:
        entry(["--help"])
    assert exit_.value.code == 0
    assert "--out" in capsys.readouterr().out


@pytest.mark.parametrize("name, runner", [("geoshape", "main"), ("nets", "run"), ("official", "main")])
def test_a_quick_benchmark_never_writes_into_the_full_runs_folder(name, runner, monkeypatch):
    """``--quick`` goes to ``results/bench_NAME_quick``, the full run to ``results/bench_NAME``,
    as for the experiments (the README quotes the full runs' numbers)."""
    mod = importlib.import_module(f"validation.bench.{name}")
    seen = []

    def fake(*args, **kwargs):
        first = args[0]
        seen.append(str(getattr(first, "out", None) or (args[1] if runner == "run" else first)))
        raise SystemExit(0)

    monkeypatch.setattr(mod, runner, fake)
    entry = mod.cli if hasattr(mod, "cli") else mod.main
    for argv, want in ((["--quick"], f"results/bench_{name}_quick"), ([], f"results/bench_{name}")):
        with pytest.raises(SystemExit):
            entry(argv)
        assert Path(seen[-1]) == Path(want)


@pytest.mark.parametrize("name", [e.name for e in EXPERIMENTS])
def test_a_module_docstring_gives_the_registrys_run_times(name):
    """``--help``, ``python -m validation`` and the README read the registry; the module's own
    docstring must say the same quick and full times."""
    doc = importlib.import_module(f"validation.{name}").__doc__
    para = " ".join(doc[doc.index("\nRun time"):].split("\n\n")[0].split())
    spec = REGISTRY[name]
    assert f"``--quick`` {spec.quick_time}" in para, para
    assert spec.full_time.split(" (")[0] in para, para
