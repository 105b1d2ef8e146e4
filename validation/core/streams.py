"""Named random streams: every random thing of a run is a named child of its seed.

A run with seed ``s`` draws each of its random streams (training images, test images,
initial weights, batch order, replicates) from ``numpy.random.SeedSequence(s)`` extended by
the stream's name, ``SeedSequence(s, spawn_key=(crc32(name),))``. Two seeds never share a
stream, and two names of one seed never do: no stream is derived by adding to or multiplying
the seed (``seed + 1`` for a test set is the training set of the next seed).

>>> stream_seed(0, "train/data") == stream_seed(0, "train/data")
True
>>> stream_seed(0, "test") != stream_seed(1, "test") != stream_seed(0, "train/data")
True
"""

from __future__ import annotations

from geoshape import checks
from geoshape.streams import stream, stream_seed

__all__ = ["stream", "stream_seed", "Streams"]


class Streams:
    """The streams of one run, recorded as they are drawn (``config.json`` keeps the record).

    >>> st = Streams(3)
    >>> st("test") == stream_seed(3, "test"), sorted(st.used)
    (True, ['test'])
    """

    def __init__(self, seed: int):
        self.seed = checks.seed(seed, "seed")
        self.used: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        value = stream_seed(self.seed, name)
        self.used[name] = value
        return value
