"""Named random streams: a random stream is a named child of a seed, never an offset of it.

Stream ``name`` of seed ``s`` is ``numpy.random.SeedSequence(s, spawn_key=(crc32(name),))``.
Two seeds never share a stream, and two names of one seed never do: no stream is derived by
adding to or multiplying the seed (``seed + 1`` for a test set is the training set of the next
seed). ``validation.core.Streams`` records the streams a run draws.

>>> stream_seed(0, "train/data") == stream_seed(0, "train/data")
True
>>> stream_seed(0, "test") != stream_seed(1, "test") != stream_seed(0, "train/data")
True
"""

from __future__ import annotations

import zlib

import numpy as np

from geoshape import checks

__all__ = ["stream", "stream_seed"]


def _key(name) -> int:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str naming the stream, got {name!r}")
    return zlib.crc32(name.encode())


def stream(seed: int, name: str) -> np.random.SeedSequence:
    """The ``SeedSequence`` of stream ``name`` of a run seeded with ``seed`` (int >= 0)."""
    seed = checks.seed(seed, "seed")
    return np.random.SeedSequence(seed, spawn_key=(_key(name),))


def stream_seed(seed: int, name: str) -> int:
    """Stream ``name`` of ``seed`` as one int in ``[0, 2**63 - 1]``: the form the public
    functions of geoshape and nets take (``rng=``, ``seed=``)."""
    return int(stream(seed, name).generate_state(1, np.uint64)[0] >> np.uint64(1))
