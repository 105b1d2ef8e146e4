"""The authors' net: G nets trained one after another, or together as grouped convolutions.

    python -m validation.bench.grouped [--quick] [--groups 2,4] [--steps N] [--processes P] [--out DIR]

A sweep of the authors' net (``interpolation_official``: 54 nets) trains tiny nets (1,116
parameters, channels 1-8), whose steps are bound by per-call overhead rather than arithmetic.
:class:`GroupedOfficialAE` stacks G nets of one layout into one: every layer a convolution with
``groups=G``, net g reading channel g of a ``(batch, G, 63, 63)`` input. With the loss the sum
of the G nets' own losses, each net's gradient is the one it has alone, and Adam is elementwise,
so G nets trained together start on their separate trajectories, equal up to float rounding (checked:
``max_abs_grad_difference`` after one step, ``max_abs_param_difference`` after ``check_steps``).
Those rounding-level differences do not stay small: ``identity_steps`` steps of net 0 alone and
in every group compare the weights and the per-pixel MSE on its training set (``identity.*``:
whether a net trained in a group is the net that one net's run trains, and whether its group's
size changes it); in float64 (``identity_float64.*``) the same comparison tells rounding apart
from a difference in what the grouped net computes. Measured at 1.1-1.4x, and a grouped float32
net is not the net its seed trains alone (weights 1.23 apart after 600 steps; in float64 3.5e-11),
so the sweeps train one net at a time (README, "Benchmarks").

Both sides run the same plain loop (Adam 0.01, eps 1e-7, batches of 64 drawn per net from its
own generator, per-pixel MSE, one thread), in blocks ordered separate, grouped, grouped,
separate so that the machine's drift weighs on both; the ratio is (time of G nets one after
another) / (time of the G nets grouped). ``--processes 2`` runs the whole measurement in two
processes at once, as a sweep's two workers share the two cores. Writes ``config.json``,
``metrics.json`` and ``bench_grouped.png`` atomically into ``--out``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks
from nets.official import OfficialAE, OfficialAEConfig
from validation._plots import finish, pyplot
from validation.core import Result, format_table, limited_threads, param, run_cli, write_outputs
from validation.runs import official as R

__all__ = ["GroupedOfficialAE", "Config", "measure", "identity", "main", "cli"]

NAME = "bench_grouped"


class GroupedOfficialAE(nn.Module):
    """``len(models)`` nets of one :class:`~nets.official.OfficialAE` layout as one module.

    Layer ``i`` holds the G nets' kernels stacked along the output channels (encoder) or the
    input channels (decoder) and convolves with ``groups=G``; ``forward`` maps ``(n, G, s, s)``
    to ``(n, G, s, s)``, channel g through net g. :meth:`net` gives net g back as an
    ``OfficialAE``.
    """

    def __init__(self, models: Sequence[OfficialAE]) -> None:
        super().__init__()
        if len(models) < 1 or not all(isinstance(m, OfficialAE) for m in models):
            raise TypeError("models must be a non-empty sequence of nets.OfficialAE")
        if len({m.config for m in models}) != 1:
            raise ValueError("models must share one OfficialAEConfig")
        self.config, self.groups = models[0].config, len(models)

        def stacked(layers):
            return nn.ParameterList(
                [nn.Parameter(torch.cat([l.weight.detach() for l in layers]).clone()),
                 nn.Parameter(torch.cat([l.bias.detach() for l in layers]).clone())
                 if layers[0].bias is not None else None])

        k = len(self.config.widths) - 1
        self.encoder = nn.ModuleList(stacked([m.encoder[i] for m in models]) for i in range(k))
        self.decoder = nn.ModuleList(stacked([m.decoder[i] for m in models]) for i in range(k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g, slope, n = self.groups, self.config.leaky_slope, self.config.size
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != (g, n, n):
            raise ValueError(f"x must be a tensor of shape (batch, {g}, {n}, {n}), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        h = x
        for w, b in self.encoder:
            h = F.leaky_relu(F.conv2d(h, w, b, stride=2, groups=g), slope)
        for w, b in self.decoder:
            # bias after the convolution, as nets.OfficialAE does
            h = F.conv_transpose2d(h, w, None, stride=2, groups=g)
            if b is not None:
                h = h + b[:, None, None]
            h = F.leaky_relu(h, slope)
        return h

    def net(self, g: int) -> OfficialAE:
        """Net ``g`` (0-based) as a separate ``OfficialAE`` carrying its current weights."""
        g = checks.integer(g, "g", lo=0, hi=self.groups - 1)
        out = OfficialAE(self.config).to(self.encoder[0][0].dtype)
        with torch.no_grad():
            for layers, mine in ((out.encoder, self.encoder), (out.decoder, self.decoder)):
                for layer, (w, b) in zip(layers, mine):
                    n = w.shape[0] // self.groups
                    layer.weight.copy_(w[g * n:(g + 1) * n])
                    if b is not None:
                        nb = b.shape[0] // self.groups
                        layer.bias.copy_(b[g * nb:(g + 1) * nb])
        return out


@dataclass(frozen=True)
class Config:
    """bench_grouped settings."""

    NAME: ClassVar[str] = NAME
    seed: int = param(0, "seed of the nets' initial weights, data and batch order")
    out: str = param(f"results/{NAME}", "output folder")
    groups: tuple[int, ...] = param((2, 4), "numbers of nets trained together, each in [2, 64]")
    steps: int = param(300, "optimiser steps of every net in a block, >= 10")
    processes: int = param(1, "processes running the whole measurement at once, in [1, 8] (2: as a "
                              "sweep's two workers on two cores)")
    check_steps: int = param(20, "steps after which the grouped and the separate weights are compared, >= 1")
    identity_steps: int = param(600, "steps of net 0 alone and in every group before its weights and MSE "
                                     "are compared (the plain loop: Adam 0.01, batches of 64), >= 1")

    @classmethod
    def quick(cls) -> "Config":
        return cls(groups=(2,), steps=20, check_steps=5, identity_steps=40, out=f"results/{NAME}_quick")

    def __post_init__(self) -> None:
        checks.integer(self.seed, "seed", lo=0)
        if not isinstance(self.groups, tuple) or not self.groups:
            raise TypeError(f"groups must be a non-empty tuple of ints, got {self.groups!r}")
        for i, g in enumerate(self.groups):
            checks.integer(g, f"groups[{i}]", lo=2, hi=64)
        checks.integer(self.steps, "steps", lo=10)
        checks.integer(self.processes, "processes", lo=1, hi=8)
        checks.integer(self.check_steps, "check_steps", lo=1)
        checks.integer(self.identity_steps, "identity_steps", lo=1)


def _loop(model: nn.Module, data: list[np.ndarray], steps: int, seed: int, first: int = 0) -> float:
    """Seconds for ``steps`` Adam steps of ``model`` on the training sets ``data`` of nets
    ``first, first + 1, ...`` of a group (one set: a net alone, with the batches it has in the group)."""
    opt = torch.optim.Adam(model.parameters(), lr=0.01, eps=1e-7)
    gens = [np.random.default_rng([seed, first + g]) for g in range(len(data))]
    t0 = time.perf_counter()
    for _ in range(steps):
        batch = [d[gen.choice(len(d), 64, replace=False)] for d, gen in zip(data, gens)]
        x = torch.from_numpy(np.stack(batch, axis=1))          # (64, G, s, s)
        loss = ((model(x) - x) ** 2).mean(dim=(0, 2, 3)).sum()  # each net's own MSE, summed
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def _nets(g: int, seed: int) -> list[OfficialAE]:
    return [OfficialAE(OfficialAEConfig(), seed=int(np.random.SeedSequence([seed, 1, i]).generate_state(1)[0]))
            for i in range(g)]


def _data(g: int, seed: int) -> list[np.ndarray]:
    return [R.authors_data(1000, seed=int(np.random.SeedSequence([seed, 2, i]).generate_state(1)[0]))[0]
            for i in range(g)]


def _agreement(g: int, seed: int, steps: int) -> tuple[float, float]:
    """Largest gradient difference after one step and weight difference after ``steps``
    between the G nets trained grouped and each trained alone on the same batches."""
    data = _data(g, seed)
    grouped = GroupedOfficialAE(_nets(g, seed))
    alone = _nets(g, seed)
    x = torch.from_numpy(np.stack([d[:64] for d in data], axis=1))
    ((grouped(x) - x) ** 2).mean(dim=(0, 2, 3)).sum().backward()
    grad = 0.0
    for i, m in enumerate(alone):
        xi = x[:, i:i + 1]
        ((m(xi) - xi) ** 2).mean(dim=(0, 2, 3)).sum().backward()
        for layers, mine in ((m.encoder, grouped.encoder), (m.decoder, grouped.decoder)):
            for layer, (w, _) in zip(layers, mine):
                n = w.shape[0] // g
                grad = max(grad, float((w.grad[i * n:(i + 1) * n] - layer.weight.grad).abs().max()))
    grouped = GroupedOfficialAE(_nets(g, seed))
    _loop(grouped, data, steps, seed)
    diff = 0.0
    for i, m in enumerate(_nets(g, seed)):
        _loop(m, [data[i]], steps, seed, i)
        diff = max(diff, max(float((a - b).detach().abs().max())
                             for a, b in zip(m.parameters(), grouped.net(i).parameters())))
    return grad, diff


def identity(groups: Sequence[int], steps: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> dict:
    """Net 0 after ``steps`` steps alone and in a group of each G in ``groups`` (same initial
    weights, data and batches of the plain loop, all in ``dtype``): its per-pixel MSE on its 1000 training images,
    and the largest weight difference from the net alone and from net 0 of the first group; one
    thread. In float64 the rounding that float32 amplifies is some 1e-9 times smaller, which
    tells rounding apart from a difference in what the grouped net computes."""
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence) or not groups:
        raise TypeError(f"groups must be a non-empty sequence of ints in [2, 64], got {groups!r}")
    groups = tuple(checks.integer(g, "groups", lo=2, hi=64) for g in groups)
    steps = checks.integer(steps, "steps", lo=1)
    seed = checks.seed(seed, "seed")
    with limited_threads(1):
        return _identity(groups, steps, seed, dtype)


def _identity(groups: Sequence[int], steps: int, seed: int, dtype: torch.dtype) -> dict:
    data = [d.astype(np.float64 if dtype == torch.float64 else np.float32) for d in _data(max(groups), seed)]
    x = torch.from_numpy(data[0][:, None])

    def nets(g: int) -> list[OfficialAE]:
        return [m.to(dtype) for m in _nets(g, seed)]

    def mse(m: OfficialAE) -> float:
        with torch.no_grad():
            return float(((m(x) - x) ** 2).mean())

    def diff(a: OfficialAE, b: OfficialAE) -> float:
        return max(float((p - q).detach().abs().max()) for p, q in zip(a.parameters(), b.parameters()))

    alone = nets(1)[0]
    _loop(alone, data[:1], steps, seed)
    out: dict = {"steps": steps, "mse_alone": mse(alone)}
    first = None
    for g in groups:
        group = GroupedOfficialAE(nets(g))
        _loop(group, data[:g], steps, seed)
        net = group.net(0)
        first = first if first is not None else net
        out[f"g{g}.mse"] = mse(net)
        out[f"g{g}.max_abs_param_difference_from_alone"] = diff(net, alone)
        if g != groups[0]:
            out[f"g{g}.max_abs_param_difference_from_g{groups[0]}"] = diff(net, first)
    return out


def measure(groups: Sequence[int], steps: int, seed: int = 0, check_steps: int = 20) -> dict:
    """Seconds of G nets alone (one after another) and grouped, blocks separate, grouped,
    grouped, separate, for every G in ``groups``; one thread."""
    with limited_threads(1):
        return _measure(groups, steps, seed, check_steps)


def _measure(groups: Sequence[int], steps: int, seed: int, check_steps: int) -> dict:
    out: dict = {}
    _loop(_nets(1, seed)[0], _data(1, seed), 10, seed)   # first-call costs out of the blocks
    for g in groups:
        data = _data(g, seed)
        sep, grp = [], []

        def separate() -> float:
            return sum(_loop(m, [data[i]], steps, seed, i) for i, m in enumerate(_nets(g, seed)))

        def together() -> float:
            return _loop(GroupedOfficialAE(_nets(g, seed)), data, steps, seed)

        sep.append(separate())
        grp.append(together())
        grp.append(together())
        sep.append(separate())
        grad, diff = _agreement(g, seed, check_steps)
        out[g] = {"seconds_separate": float(np.sum(sep)), "seconds_grouped": float(np.sum(grp)),
                  "ratio": float(np.sum(sep) / np.sum(grp)),
                  "net_steps_per_second_separate": 2 * g * steps / float(np.sum(sep)),
                  "net_steps_per_second_grouped": 2 * g * steps / float(np.sum(grp)),
                  "max_abs_grad_difference": grad, "max_abs_param_difference": diff}
    return out


def _measure_job(args) -> dict:
    return measure(*args)


def main(config: Config) -> Result:
    out = Path(config.out)
    args = (config.groups, config.steps, config.seed, config.check_steps)
    if config.processes == 1:
        found = [measure(*args)]
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(config.processes) as pool:
            found = pool.map(_measure_job, [args] * config.processes)
    ident = identity(config.groups, config.identity_steps, config.seed)
    ident64 = identity(config.groups[:1], config.identity_steps, config.seed, torch.float64)
    metrics: dict = {"processes": config.processes, "steps": config.steps}
    metrics.update({f"identity.{k}": v for k, v in ident.items()})
    metrics.update({f"identity_float64.{k}": v for k, v in ident64.items() if k != "steps"})
    rows = []
    for g in config.groups:
        each = [f[g] for f in found]
        sep = float(np.sum([e["seconds_separate"] for e in each]))
        grp = float(np.sum([e["seconds_grouped"] for e in each]))
        m = {"ratio": sep / grp, "seconds_separate": sep, "seconds_grouped": grp,
             "net_steps_per_second_separate": float(np.mean([e["net_steps_per_second_separate"] for e in each])),
             "net_steps_per_second_grouped": float(np.mean([e["net_steps_per_second_grouped"] for e in each])),
             "max_abs_grad_difference": max(e["max_abs_grad_difference"] for e in each),
             "max_abs_param_difference": max(e["max_abs_param_difference"] for e in each)}
        metrics.update({f"g{g}.{k}": v for k, v in m.items()})
        rows.append([g, m["net_steps_per_second_separate"], m["net_steps_per_second_grouped"], m["ratio"],
                     m["max_abs_grad_difference"], m["max_abs_param_difference"]])
    fig, (ax, bx) = pyplot().subplots(1, 2, figsize=(9.0, 3.2), gridspec_kw={"width_ratios": [3, 2]})
    gs = list(config.groups)
    ax.plot(gs, [metrics[f"g{g}.net_steps_per_second_separate"] for g in gs], "o-", label="one after another")
    ax.plot(gs, [metrics[f"g{g}.net_steps_per_second_grouped"] for g in gs], "s-", label="grouped convolutions")
    ax.set_xticks(gs)
    ax.set_xlabel("nets trained (G)")
    ax.set_ylabel("net-steps/s per process (one thread)")
    ax.set_title(f"authors' net, {config.processes} process(es): grouped / separate = "
                 + ", ".join(f"{metrics[f'g{g}.ratio']:.2f}" for g in gs), fontsize=9)
    ax.legend(fontsize=8)
    labels = ["alone"] + [f"in G={g}" for g in gs]
    bx.bar(labels, [ident["mse_alone"]] + [ident[f"g{g}.mse"] for g in gs], color=["C0"] + ["C1"] * len(gs))
    bx.set_ylabel("net 0: per-pixel MSE on its training set")
    g0 = config.groups[0]
    bx.set_title(f"same seed, weights, batches; after {config.identity_steps} steps\n(float64: in G={g0} "
                 f"{ident64[f'g{g0}.max_abs_param_difference_from_alone']:.1e} from alone)", fontsize=9)
    finish(fig, out / "bench_grouped.png", dpi=110)
    write_outputs(out, config, metrics)
    table = format_table(rows, ["G", "net-steps/s alone", "net-steps/s grouped", "speed-up",
                                "max |grad diff|", f"max |w diff| @{config.check_steps}"])
    table += (f"\n\n{config.steps} steps a net a block, blocks separate, grouped, grouped, separate; "
              f"{config.processes} process(es) at once, one thread each")
    table += (f"\nnet 0 after {config.identity_steps} steps: MSE alone {ident['mse_alone']:.4g}, "
              + ", ".join(f"in a group of {g} {ident[f'g{g}.mse']:.4g} (weights "
                          f"{ident[f'g{g}.max_abs_param_difference_from_alone']:.3g} from alone"
                          + (f", {ident[f'g{g}.max_abs_param_difference_from_g{config.groups[0]}']:.3g} "
                             f"from G={config.groups[0]}" if g != config.groups[0] else "") + ")"
                          for g in config.groups))
    table += (f"\nin float64: MSE alone {ident64['mse_alone']:.6g}, in a group of {g0} {ident64[f'g{g0}.mse']:.6g} "
              f"(weights {ident64[f'g{g0}.max_abs_param_difference_from_alone']:.3g} from alone)")
    return Result(config, metrics, table, out)


def cli(argv: Sequence[str] | None = None) -> Result:
    return run_cli(Config, main, argv, __doc__, "config.json, metrics.json, bench_grouped.png")


if __name__ == "__main__":
    cli(sys.argv[1:])
