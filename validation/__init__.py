"""Each claim of the talk as an experiment: ``python -m validation.NAME``.

Experiments (one module each, in the talk's order; ``python -m validation.runners.report`` runs them
all and writes ``REPORT.md``):

======================= =======================================================================
module                  claim tested
======================= =======================================================================
disk_vs_airy            the bias-free disk AE's decoder profile is Airy's function (eqs. 1-8);
                        the project's main job
disk_encoder            the encoder is an averaging filter: the code follows the disk's area
bias_ablation           with and without biases: the rank-1 floor h(r) f and what biases add
interpolation           trained without radii 11-18, does the AE interpolate; the three latent
                        regularisations (slides 21-26)
official_model          the authors' own Keras layout (1,116 parameters), their data and training,
                        or their published HDF5 weights (``--weights``), analysed with our measures
interpolation_official  the missing-radii claim under the authors' protocol, with the talk's
                        and the official code's regularisers over decades of weight, and extrapolation
position_encoder        filtering by [1, 2, 1] and subsampling gives the position (eqs. 9-12, Table 1)
position_decoder        decoding a position into a continuous Dirac (eq. 13)
pca_ae_ellipses         the PCA-like AE orders and decorrelates its components (eqs. 14-17) against a
                        plain AE and beta-VAEs
pca_ae_grey_disks       the PCA-AE's failure case: radius and grey level
pca_ae_position         radius and 2-D position: one component a stage against packets
pca_ae_fit              the PCA-AE on your own images (``--data``) against a plain AE, a
                        beta-VAE and linear PCA
scaled_shapes           general scaling: the disk theory for any scaled shape and scaled digits
pca_ae_digits           the PCA-AE on 5,000 MNIST digits against PCA, AE, beta-VAEs, beta-TCVAE
position_placement      how a decoder places an object: the constructive proof, trained decoders
                        on CoordConv's splits held against it
======================= =======================================================================

Benchmarks (``python -m validation.bench.NAME``, ratios against a baseline measured in the same
run): ``geoshape``, ``nets``, ``official`` (the transposed convolutions' bias inside or after),
``grouped`` (G nets as grouped convolutions), ``sweep`` (the sweep runner on 1 and N workers).

Over seeds and grids: ``python -m validation.runners.sweep NAME --seeds 0:10 [--set field=v1,v2]``
(:mod:`validation.runners.sweep`, on Dask distributed; statistics in :mod:`validation.runners.summary`).
One run of an experiment is one seed; the sweep writes ``OUT/<point>/seed=<s>/`` exactly as
the single run would, and ``OUT/summary.{json,md,png}``; ``python -m validation.runners.pages``
writes the kept sweeps' tables into ``docs/results/NAME.md``.

The contract every experiment follows (:mod:`validation.core`)
--------------------------------------------------------------
- ``Config``: a frozen dataclass subclassing :class:`validation.core.ExperimentConfig`, which
  owns ``seed``, ``out`` (``results/NAME``; ``results/NAME_quick`` for ``--quick``, always),
  ``threads`` (None = one torch thread a training) and ``device``; every field is declared with
  :func:`validation.core.param` (its ``--help`` line: units, range, meaning) and checked on
  construction through ``geoshape.checks`` (``ValueError`` / ``TypeError`` naming the field).
  ``Config.quick()`` applies the class's ``QUICK`` changes: the CI-sized run.
- Random streams: every random thing of a run is a named child of ``SeedSequence(seed)``
  (:class:`validation.core.Streams`), so two seeds share no training image, no test image and
  no initial weight; several trainings inside one run are replicates ``replicate/k``.
- ``main(config) -> Result``: trains, compares with theory, writes the outputs.
- ``cli(argv)``: ``python -m validation.NAME [--quick] [--FIELD value ...]``;
  ``python -m validation`` lists every experiment with its claim and run times (the one
  registry, :mod:`validation.core.registry`, also used by ``report``, ``sweep`` and the tests).
- ``SWEEP``: a :class:`validation.core.SweepSpec` (variants, headline metrics, paired
  variants), checked at import, for the summary over seeds.
- The same seed gives the same ``metrics.json`` (timing keys excepted); no experiment imports
  another: shared work lives in the private modules below.

Layout of ``results/NAME/`` (``--out``; ``results/NAME_quick`` for ``--quick``)
-------------------------------------------------------------------------------
- ``config.json``: the run whole: the ``Config`` as run, every training's model config and
  resolved ``TrainConfig``, the random streams drawn, package versions and the git commit;
- ``metrics.json``: flat ``{name: number}`` (NaN written as null), the numbers the table and
  the README quote;
- ``weights.pt``: the trained models' state dicts, ``{model name: state_dict}`` (experiments
  that train);
- ``*.npz``: the arrays behind every figure, so a figure can be redrawn without training;
- ``*.png``: the figures.

Every file is written atomically (temporary file, then rename): an interrupted run never
leaves a partial file.

Private library modules
-----------------------
- :mod:`validation.core`: the contract (config, streams, command line, record, registry);
- :mod:`validation.runs.disk`: centred-disk data and disk-AE trainings, one process per core;
- :mod:`validation.runs.pca`: PCA-AE and baseline trainings and their measures;
- :mod:`validation.runs.official`: the authors' protocol (data, training loop, penalties in
  their units, measures on exact disks);
- :mod:`validation._plots`: figures; :mod:`validation._io`: ``.npz`` and flat metrics;
- :mod:`validation.metrics` (public): comparisons, the ellipse protocol, MI / MIG / DCI / SAP.
"""
