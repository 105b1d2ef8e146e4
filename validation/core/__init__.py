"""The experiment contract: configs, named random streams, the run record, the registry.

- :mod:`~validation.core.config`: :class:`ExperimentConfig` (``seed``, ``out``, ``threads``,
  ``device``; fields declared with :func:`param`, checked through ``geoshape.checks``);
- :mod:`~validation.core.streams`: every random stream a named child of ``SeedSequence(seed)``;
- :mod:`~validation.core.run`: command line, table, ``config.json`` / ``metrics.json``;
- :mod:`~validation.core.registry`: the one list of experiments;
- :mod:`~validation.core.sweepspec`: an experiment's declarations for its summary over seeds.
"""

from .config import DEFAULT_THREADS, DEVICES, ExperimentConfig, flag, ints, one_of, optional, param, pow2, reals, tuple_of
from .registry import EXPERIMENTS, REGISTRY, Experiment
from .run import IN_SWEEP_ENV, Result, format_table, limited_threads, parse_cli, parse_value, run_cli, write_outputs
from .streams import Streams, stream, stream_seed
from .sweepspec import SweepSpec

__all__ = ["ExperimentConfig", "param", "ints", "reals", "one_of", "flag", "optional", "tuple_of", "pow2", "DEFAULT_THREADS",
           "DEVICES", "IN_SWEEP_ENV", "EXPERIMENTS", "REGISTRY", "Experiment", "Result", "format_table",
           "limited_threads", "parse_cli", "parse_value",
           "run_cli", "write_outputs", "Streams", "stream", "stream_seed", "SweepSpec"]
