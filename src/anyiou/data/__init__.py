"""The small synthetic dataset shipped with anyiou (used by ``anyiou evaluate --example``).

``example/targets/*.png`` are VOC-style palette PNGs (label 255 marks void pixels on the
object outlines), ``example/preds/*.png`` grayscale PNG predictions of the same names,
``example/classes.txt`` the class names. Regenerate with ``python docs/make_sample_data.py``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["EXAMPLE_IGNORE_INDEX", "EXAMPLE_NUM_CLASSES", "example_dir"]

#: Number of classes of the example dataset.
EXAMPLE_NUM_CLASSES = 4
#: Target value of the void pixels of the example dataset.
EXAMPLE_IGNORE_INDEX = 255


def example_dir() -> Path:
    """Folder of the example dataset (``preds/``, ``targets/``, ``classes.txt``).

    Examples
    --------
    >>> from anyiou.data import example_dir
    >>> sorted(p.name for p in example_dir().iterdir())
    ['classes.txt', 'preds', 'targets']
    """
    return Path(str(resources.files(__name__) / "example"))
