"""What runs experiments rather than being one.

- :mod:`validation.runners.sweep`: any experiment over seeds x a grid on Dask distributed,
  ``python -m validation.runners.sweep NAME --seeds 0:10``;
- :mod:`validation.runners.summary`: the statistics, paired tests and figure of a sweep;
- :mod:`validation.runners.report`: every experiment -> ``REPORT.md``,
  ``python -m validation.runners.report [--quick]``.
"""
