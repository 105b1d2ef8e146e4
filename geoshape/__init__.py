"""geoshape: exact blurred shapes, Diracs and labelled data sets (numba core).

Public API (conventions in docs/conventions.md): :func:`disks`, :func:`rings`, :func:`squares`,
:func:`ellipses`, :func:`dirac`, :func:`dirac2d`, and the data sets
:func:`centred_disks`, :func:`random_disks`, :func:`random_ellipses`,
:func:`random_diracs`, :func:`random_diracs2d` returning :class:`Labelled`, and
:func:`quantize_8bit` (the 8-bit PNG round trip of the authors' data). Images may have any
side (odd sides such as 63 put the default centre on a pixel).

Modules: ``shapes`` (validated renderers) over ``_kernels`` (numba, unchecked);
``datasets`` (labelled sets); ``checks`` (the argument checks every package uses);
``io`` (atomic file writes every package uses).
"""

from . import checks, io
from .datasets import (Labelled, centred_disks, quantize_8bit, random_diracs, random_diracs2d,
                       random_disks, random_ellipses)
from .shapes import dirac, dirac2d, disks, ellipses, rings, squares

__all__ = ["disks", "rings", "squares", "ellipses", "dirac", "dirac2d", "Labelled",
           "centred_disks", "random_disks", "random_ellipses", "random_diracs",
           "random_diracs2d", "quantize_8bit"]
__version__ = "0.1.0"
