"""Speed benchmarks, each against a baseline measured in the same run (ratios, never timed
assertions): ``python -m validation.bench.geoshape`` (shapes against scipy and the authors'
code), ``python -m validation.bench.nets`` (the training engine against a plain PyTorch loop),
``python -m validation.bench.sweep`` (the sweep runner on 1 and N workers),
``python -m validation.bench.official`` (the authors' net: transposed-convolution bias inside or after),
``python -m validation.bench.grouped`` (the authors' net: G nets one after another or as grouped convolutions)."""
