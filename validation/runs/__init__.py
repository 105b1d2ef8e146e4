"""The trainings and measures that several experiments share (not public API).

- :mod:`validation.runs.disk`: centred-disk data and disk-AE trainings, two processes (one
  core each), the encoder's measures;
- :mod:`validation.runs.official`: the authors' protocol (their data, training loop and
  penalties in their units; measures on exact disks);
- :mod:`validation.runs.pca`: PCA-AE and baseline trainings and their measures.

An experiment imports these; none imports another experiment.
"""
