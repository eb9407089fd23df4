"""Counting: the exact (C, C) confusion matrix of every pair, streamed or with Dask.

Each pair is read and checked on the host (NumPy), handed to the chosen array library
(``--backend``), counted there by :func:`anyiou.metrics.confusion_matrix`, and the
per-file counts are summed on the host in int64: the state of
:class:`anyiou.metrics.MeanIoU`, exact however many files there are (JAX without x64
counts in int32, so the sum is never left to the device).

Streamed, the pairs are read and checked by a few threads (Pillow and NumPy let go of
the GIL while they decode and compare), a bounded number ahead of the pair being
summed, so that memory stays that of a few pairs; the sum runs in file order, so the
first bad file met is the one a single thread would meet. With NumPy the threads also
count: 8-bit label maps in one pass (:mod:`anyiou.cli._histogram`). With ``--boundary``
the threads also take each pair's Boundary IoU band counts (:mod:`anyiou.cli._bands`),
so that every file is read once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._lib._convert import backend_library, from_numpy, to_numpy
from .._lib._types import IgnoreValues
from ..metrics import confusion_matrix
from ._bands import pair_bands
from ._checks import (
    LABEL_DTYPE,
    backend_ignore_index,
    check_pair,
    expected_shape,
    load_pair,
    read_pair,
)
from ._errors import EvaluationError
from ._files import Pair
from ._histogram import byte_corner
from ._io import peek
from ._partial import Corner, Counted, add_counts, dense_counts, sparse_counts
from ._threads import default_workers, in_order

__all__ = ["BACKENDS", "DASK_SCHEDULERS", "Counts", "count", "resolve_backend"]

BACKENDS = ("numpy", "torch", "jax", "cupy")
#: what to install for each ``--backend`` (the package extras of anyiou)
INSTALL_HINT = {"numpy": "numpy", "torch": "torch", "jax": "'anyiou[jax]'",
                "cupy": "'anyiou[cupy]' (cupy-cuda12x)"}
#: ``--dask`` values that name a local scheduler; anything else is an address.
DASK_SCHEDULERS = ("threads", "processes", "synchronous", "sync")


@dataclass
class Counts:
    """The result of counting: the dataset's confusion matrix and, optionally, each pair's."""

    confmat: np.ndarray  # (C, C) int64, rows target, columns prediction
    pairs: list[Pair]
    per_pair: list[np.ndarray] | None = None  # (C, C) int64 each, with --per-image
    bands: np.ndarray | None = None  # (3, C) int64 band counts, with --boundary
    per_pair_bands: list[np.ndarray] | None = None  # (3, C) each, --boundary --per-image


def _conversion_name(name: str) -> str:
    """The :mod:`anyiou._lib._convert` backend ``--backend name`` converts to (importing
    and checking its library)."""
    lib = backend_library(name)
    if name == "cupy":
        lib.cuda.runtime.getDeviceCount()  # raises without a usable GPU
    if name == "jax":
        import jax

        if jax.default_backend() in ("gpu", "cuda", "rocm"):
            return "jax_gpu"
    return name


def resolve_backend(name: str) -> tuple[Callable[[np.ndarray], Any], Callable[[Any], np.ndarray]]:
    """(NumPy -> backend array, backend array -> NumPy) for ``--backend name``.

    Both go through the shared helpers :func:`anyiou._lib._convert.from_numpy` and
    :func:`~anyiou._lib._convert.to_numpy`.

    Raises
    ------
    EvaluationError
        The library is not installed, or not usable here (CuPy without a GPU).
    """
    if name not in BACKENDS:
        raise EvaluationError(f"unknown --backend {name!r}; choose from {', '.join(BACKENDS)}")
    try:
        conv = _conversion_name(name)
    except ImportError as exc:
        raise EvaluationError(
            f"--backend {name} needs {name}, which is not installed here "
            f"(pip install {INSTALL_HINT[name]})"
        ) from exc
    except Exception as exc:  # cupy without a usable GPU
        raise EvaluationError(f"--backend {name} is not usable here: {exc}") from exc
    return (lambda a: from_numpy(a, conv, copy=False)), to_numpy


def _progress(items: Iterable, enabled: bool, total: int | None = None) -> Iterable:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    # ``delay``: nothing is drawn on runs shorter than a second; ``disable=None``: no
    # bar when stderr is not a terminal (logs, CI).
    return tqdm(items, total=total, desc="evaluating", unit="image", file=sys.stderr,
                delay=1.0, disable=None, leave=False)


def _read_and_count(
    pair: Pair, num_classes: int, ignore_index: IgnoreValues,
    counter: Callable | None,
    ratio: float | None = None,
) -> tuple[Counted | tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """In a reading thread: the checked (pred, target) of ``pair`` or, given a
    ``counter`` (NumPy counts), its counts in a compact form (:mod:`._partial`); and,
    given a ``--boundary`` ``ratio``, its (3, C) band counts (else None)."""
    pred, target = read_pair(pair)
    if counter is not None:
        corner = byte_corner(pred, target, num_classes, ignore_index)
        if corner is not None:  # checked: the 8-bit maps go to the band counts as they are
            bands = None if ratio is None else pair_bands(pair, pred, target, num_classes,
                                                          ignore_index, ratio)
            return Corner(corner), bands
    pred, target = check_pair(pair, pred, target, num_classes, ignore_index)
    bands = None if ratio is None else pair_bands(pair, pred, target, num_classes,
                                                  ignore_index, ratio)
    return ((pred, target) if counter is None else counter(pair, pred, target)), bands


def _count_arrays(pair: Pair, pred: np.ndarray, target: np.ndarray, num_classes: int,
                  ignore_index: IgnoreValues, to_backend: Callable,
                  to_numpy: Callable) -> np.ndarray:
    try:
        cm = confusion_matrix(to_backend(pred[None]), to_backend(target[None]), num_classes,
                              backend_ignore_index(num_classes, ignore_index))
    except (ValueError, TypeError) as exc:
        raise EvaluationError(f"{pair.pred} vs {pair.target}: {exc}") from exc
    return to_numpy(cm).astype(np.int64, copy=False)


def count(
    pairs: list[Pair],
    num_classes: int,
    ignore_index: IgnoreValues = None,
    *,
    backend: str = "numpy",
    per_image: bool = False,
    progress: bool = False,
    dask: str | None = None,
    workers: int | None = None,
    boundary: float | None = None,
) -> Counts:
    """Confusion matrix of all ``pairs`` (and of each with ``per_image``), and their
    Boundary IoU band counts with ``boundary``.

    Parameters
    ----------
    pairs : list of Pair
        From :func:`anyiou.cli._files.match`.
    num_classes : int
        C.
    ignore_index : int or tuple of int, optional
        Target value of the pixels left out.
    backend : {'numpy', 'torch', 'jax', 'cupy'}
        Array library that counts.
    per_image : bool
        Keep each pair's (C, C) counts as well.
    progress : bool
        Show a progress bar (tqdm, on a terminal, for runs over a second).
    dask : str, optional
        Count lazily with Dask: a local scheduler name (``'threads'``...) or the
        address of a ``dask.distributed`` scheduler.
    workers : int, optional
        Threads that read and check the files (and count, with NumPy) when streamed;
        default :func:`anyiou.cli._threads.default_workers`. Not used with ``dask``.
    boundary : float, optional
        ``--boundary`` ratio: also count each pair's bands, in the same pass when
        streamed (a second pass over the files with ``dask``).

    Returns
    -------
    Counts
        int64 counts on the host.

    Raises
    ------
    EvaluationError
        Any bad file (see :func:`anyiou.cli._checks.load_pair`) or unusable backend.
    """
    if dask is not None:
        if backend != "numpy":
            raise EvaluationError(
                f"--dask counts on NumPy chunks; it cannot be combined with --backend {backend}"
            )
        counted = _count_dask(pairs, num_classes, ignore_index, dask, progress, per_image)
        if not per_image:
            counts = Counts(counted.astype(np.int64), pairs)
        else:
            total = np.sum(counted, axis=0, dtype=np.int64)
            counts = Counts(total, pairs, list(counted.astype(np.int64)))
        if boundary is not None:  # a second pass, on NumPy threads
            from ._boundary import count_boundary

            counts.bands, counts.per_pair_bands = count_boundary(
                pairs, num_classes, ignore_index, boundary, per_image=per_image,
                workers=workers)
        return counts
    to_backend, to_numpy = resolve_backend(backend)
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    kept = [] if per_image else None
    bands_total = None if boundary is None else np.zeros((3, num_classes), dtype=np.int64)
    bands_kept = [] if per_image and boundary is not None else None

    def counter(pair: Pair, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return _count_arrays(pair, pred, target, num_classes, ignore_index, to_backend,
                             to_numpy)

    def numpy_counter(pair: Pair, pred: np.ndarray, target: np.ndarray) -> Counted:
        # fewer pixels than cells: the non-zero cells, not a (C, C) matrix per pair
        if pred.size < num_classes * num_classes:
            return sparse_counts(pred, target, num_classes,
                                 backend_ignore_index(num_classes, ignore_index))
        return counter(pair, pred, target)

    def work(pair: Pair) -> tuple[Counted | tuple[np.ndarray, np.ndarray], np.ndarray | None]:
        # NumPy counts in the reading threads; other libraries in this one
        return _read_and_count(pair, num_classes, ignore_index,
                               numpy_counter if backend == "numpy" else None, boundary)

    done = in_order(work, pairs, default_workers() if workers is None else workers)
    with closing(done):  # on any error, no pair is started any more
        for pair, (result, bands) in _progress(zip(pairs, done, strict=False), progress,
                                               len(pairs)):
            cm = counter(pair, *result) if isinstance(result, tuple) else result
            add_counts(total, cm)
            if kept is not None:
                kept.append(dense_counts(cm, num_classes))
            if bands is not None:
                bands_total += bands
                if bands_kept is not None:
                    bands_kept.append(bands)
            del cm, result  # not held while the next pair is awaited
    return Counts(total, pairs, kept, bands_total, bands_kept)


def _count_dask(pairs: list[Pair], num_classes: int, ignore_index: IgnoreValues,
                where: str, progress: bool, per_image: bool) -> np.ndarray:
    """(F, C, C) counts with ``per_image``, else their (C, C) sum: one lazy array per
    file, read by ``dask.delayed`` tasks."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise EvaluationError("--dask needs dask: pip install 'anyiou[dask]'") from exc
    dtype = LABEL_DTYPE
    counted_ignore = backend_ignore_index(num_classes, ignore_index)
    matrices = []
    for pair in pairs:
        p_shape, p_dtype = peek(pair.pred)
        t_shape, t_dtype = peek(pair.target)
        shape = expected_shape(pair, p_shape, p_dtype, t_shape, t_dtype, num_classes)
        loaded = dask.delayed(load_pair, nout=2, pure=True)(pair, num_classes, ignore_index)
        pred = da.from_delayed(loaded[0], shape=shape, dtype=dtype)
        target = da.from_delayed(loaded[1], shape=shape, dtype=dtype)
        matrices.append(confusion_matrix(pred[None], target[None], num_classes,
                                         counted_ignore))
    stacked = da.stack(matrices)
    if not per_image:
        stacked = stacked.astype(np.int64).sum(axis=0)
    if where in DASK_SCHEDULERS:
        if progress and sys.stderr.isatty():
            from dask.diagnostics import ProgressBar

            with ProgressBar(minimum=1.0, out=sys.stderr):
                return np.asarray(stacked.compute(scheduler=where))
        return np.asarray(stacked.compute(scheduler=where))
    try:
        from distributed import Client
    except ImportError as exc:
        raise EvaluationError(
            f"--dask {where} needs dask.distributed: pip install 'anyiou[dask]'"
        ) from exc
    try:
        client = Client(where, timeout=10)
    except Exception as exc:  # OSError, TimeoutError
        raise EvaluationError(f"cannot connect to the Dask scheduler at {where}: {exc}") from exc
    try:
        return np.asarray(client.compute(stacked).result())
    finally:
        client.close()
