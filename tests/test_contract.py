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


LIBRARY_CODE = sorted([*(ROOT / "nets").glob("*.py"), *(ROOT / "geoshape").glob("*.py"), *(ROOT / "theory").glob("*.py")])


@pytest.mark.parametrize("path", LIBRARY_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_derives_no_stream_by_an_offset(path):
    """nets, geoshape and theory take a seed and derive sub-streams by name
    (``geoshape.streams.stream_seed``), never as ``seed + k`` or ``seed * n + k``."""
    src = path.read_text()
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    code = " ".join(t.string for t in toks if t.type not in (tokenize.STRING, tokenize.COMMENT))
    hit = _OFFSET.search(code)
    assert not hit, f"{path.name}: a stream derived from seed by arithmetic: {hit.group(0)!r}"


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
    assert re.search(r"(?<![\d.])" + re.escape(spec.full_time.split(" (")[0]), para), para


def _kept_runs_with_streams():
    out = []
    for folder in sorted((ROOT / "docs" / "sweeps").glob("*/*/")):
        recs = {p.parent.name: json.loads(p.read_text()) for p in sorted(folder.glob("seed=*/config.json"))}
        if len(recs) > 1 and all(r.get("streams") for r in recs.values()):
            out.append(pytest.param(recs, id=folder.relative_to(ROOT / "docs" / "sweeps").as_posix()))
    return out


@pytest.mark.parametrize("records", _kept_runs_with_streams())
def test_kept_sweeps_seeds_share_no_stream(records):
    """Every kept sweep run with named streams: its seeds drew the same streams by name and no
    stream value (data, test set, initial weights, batches) is shared by two seeds."""
    names = {seed: set(r["streams"]) for seed, r in records.items()}
    assert len({frozenset(n) for n in names.values()}) == 1, names
    seen: dict[int, str] = {}
    for seed, r in records.items():
        values = list(r["streams"].values()) + [t["train_config"]["seed"] for t in r.get("trainings", {}).values()
                                                 if "train_config" in t]
        for v in set(values):
            assert v not in seen, f"{seed} and {seen[v]} share the stream value {v}"
            seen[v] = seed


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in EXPERIMENTS])
def test_two_seeds_of_every_experiment_draw_disjoint_streams(name, tmp_path):
    """``--quick`` with seeds 0 and 1: the same stream names, no shared value, and no shared
    training seed (so no shared training image, test image or initial weight)."""
    mod = importlib.import_module(f"validation.{name}")
    recs = []
    for seed in (0, 1):
        cfg = dataclasses.replace(mod.Config.quick(), seed=seed, out=str(tmp_path / f"s{seed}"))
        mod.main(cfg)
        recs.append(json.loads((tmp_path / f"s{seed}" / "config.json").read_text()))
    a, b = recs
    assert a["streams"] and set(a["streams"]) == set(b["streams"])
    va = set(a["streams"].values()) | {t["train_config"]["seed"] for t in a.get("trainings", {}).values() if "train_config" in t}
    vb = set(b["streams"].values()) | {t["train_config"]["seed"] for t in b.get("trainings", {}).values() if "train_config" in t}
    assert not va & vb


def test_registry_times_parse_and_the_reports_total_is_their_sum():
    """``report``'s full and quick times, in its docstring and the README, are the registry's sums."""
    from validation.core.registry import minutes, total_minutes
    from validation.runners import report

    assert minutes("30 s") == 0.5 and minutes("about 8 min (20 min in a sweep)") == 8.0
    assert minutes("1 h 35 min (54 nets, idle machine)") == 95.0 and minutes("3.5 min (the demo set)") == 3.5
    with pytest.raises(ValueError, match="text"):
        minutes("a while")
    with pytest.raises(ValueError, match="which"):
        total_minutes("slow")
    full, quick = round(total_minutes("full")), round(total_minutes("quick", exclude=()))
    doc = " ".join(report.__doc__.split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"about {full} minutes on 2 idle cores" in doc and f"``--quick``: about {quick} minutes" in doc
    assert f"`python -m validation.runners.report`: about {full} minutes" in readme
    assert f"`--quick`: about {quick} minutes" in readme


@pytest.mark.parametrize("name", [e.name for e in EXPERIMENTS])
def test_no_field_uses_zero_for_the_presets_value(name):
    """"The preset's value" is None (``--lr none``), never a magic 0: a zero learning rate or
    step count is refused, naming the field."""
    cfg_cls = importlib.import_module(f"validation.{name}").Config
    scalar = {f.name for f in dataclasses.fields(cfg_cls) if not str(f.type).startswith("tuple")}
    for field, doc in cfg_cls.field_docs().items():
        if field not in scalar:   # run specs such as bias_ablation's "init:replicate:lr:steps" name metric keys
            continue
        assert not re.search(r"\b0 = (the )?preset", doc), f"{name}.{field}: {doc}"
    for field in ("lr", "bias_lr", "bias_free_lr", "steps", "bias_steps", "bias_free_steps"):
        f = {g.name: g for g in dataclasses.fields(cfg_cls)}.get(field)
        if f is not None and "None" in str(f.type):
            with pytest.raises(ValueError, match=field):
                cfg_cls(**{field: 0})
            cfg_cls(**{field: None})


def test_disk_spec_keeps_the_presets_values_for_none():
    import nets
    from validation.runs.disk import disk_spec

    spec = disk_spec("b", "bias", size=64, sigma=1.0, seed=0, steps=None, lr=None)
    assert spec["train"]["lr"] == nets.PRESETS["bias"].train["lr"]
    assert spec["train"]["steps"] == nets.PRESETS["bias"].train["steps"]
    assert disk_spec("b", "bias", size=64, sigma=1.0, seed=0, steps=7, lr=1e-3)["train"]["lr"] == 1e-3


def test_tuple_fields_fail_one_way_naming_the_field():
    """One check for every tuple field: TypeError for what is not a tuple (a str included),
    ValueError for an empty one, a bad item or a repeat."""
    from validation.core import ints, one_of, tuple_of

    check = tuple_of(ints(1), what="positive ints")
    assert check([1, 2], "widths") == (1, 2) and check((3,), "widths") == (3,)
    with pytest.raises(TypeError, match="widths must be a tuple of positive ints, got str"):
        check("1,2", "widths")
    with pytest.raises(TypeError, match="widths"):
        check(5, "widths")
    with pytest.raises(ValueError, match="widths must hold at least one"):
        check((), "widths")
    with pytest.raises(ValueError, match="widths"):
        check((1, 0), "widths")
    with pytest.raises(ValueError, match="splits must not repeat"):
        tuple_of(one_of("a", "b"), distinct=True)(("a", "a"), "splits")
    assert tuple_of(ints(1), nonempty=False)((), "penalties") == ()


@pytest.mark.parametrize("name, field, preset, key", [
    ("disk_vs_airy", "bias_free_steps", "bias_free", "steps"), ("disk_vs_airy", "bias_free_lr", "bias_free", "lr"),
    ("disk_vs_airy", "bias_steps", "bias", "steps"), ("disk_vs_airy", "bias_lr", "bias", "lr"),
    ("disk_encoder", "steps", "bias", "steps"), ("disk_encoder", "lr", "bias", "lr"),
    ("bias_ablation", "bias_steps", "bias", "steps"), ("bias_ablation", "bias_lr", "bias", "lr"),
    ("scaled_shapes", "bias_lr", "bias", "lr")])
def test_none_fields_name_the_presets_value(name, field, preset, key):
    """``--help`` says what ``none`` gives: the value of ``nets.PRESETS`` the run then uses."""
    import nets

    doc = importlib.import_module(f"validation.{name}").Config.field_docs()[field]
    said = re.search(r"none = the preset's \(([^)]+)\)", doc)
    assert said and float(said.group(1)) == nets.PRESETS[preset].train[key], doc
