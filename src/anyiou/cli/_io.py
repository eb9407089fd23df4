"""Reading label maps: PNG/TIFF (Pillow; palette PNGs read as their indices), .npy, .npz."""

from __future__ import annotations

import json
import zipfile
from typing import Any

import numpy as np

from ._errors import EvaluationError, shown
from ._files import LabelSource

__all__ = ["peek", "read_labels", "read_class_names"]

# Pillow modes that hold one label per pixel, and the dtype NumPy gives them.
_IMAGE_DTYPES = {
    "1": np.uint8,  # read as bool, stored as 0/1
    "L": np.uint8,
    "P": np.uint8,  # palette PNG (PASCAL VOC): the palette indices are the labels
    "I;16": np.uint16,
    "I;16B": np.uint16,
    "I;16L": np.uint16,
    "I;16N": np.uint16,
    "I": np.int32,
}


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise EvaluationError(
            "reading PNG/TIFF label maps needs Pillow: pip install 'anyiou[cli]'"
        ) from exc
    return Image


def _open_image(src: LabelSource) -> Any:
    Image = _pillow()
    try:
        img = Image.open(src.path)
    except Exception as exc:
        raise EvaluationError(f"cannot read {src}: {exc}") from exc
    if img.mode not in _IMAGE_DTYPES:
        img.close()
        colour = img.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LA", "PA")
        hint = " (a colour image: save label maps as grayscale or palette images)" if colour else ""
        raise EvaluationError(
            f"{src} has image mode {img.mode!r}; expected one label per pixel "
            f"(modes {', '.join(_IMAGE_DTYPES)}){hint}"
        )
    return img


def _read_image(src: LabelSource) -> np.ndarray:
    img = _open_image(src)
    try:
        frames = []
        for k in range(getattr(img, "n_frames", 1)):
            img.seek(k)
            frames.append(np.asarray(img))
        shapes = sorted({f.shape for f in frames})
        if len(shapes) > 1:
            raise ValueError(f"its pages differ in size ({', '.join(map(str, shapes))})")
        arr = frames[0] if len(frames) == 1 else np.stack(frames)
    except Exception as exc:
        raise EvaluationError(f"cannot read {src}: {exc}") from exc
    finally:
        img.close()
    return arr.astype(np.uint8) if arr.dtype == np.bool_ else arr


def read_labels(src: LabelSource) -> np.ndarray:
    """The array stored in ``src`` (any dtype; checked by the caller).

    Raises
    ------
    EvaluationError
        The file cannot be read, or is an image without one label per pixel.
    """
    if src.path.suffix.lower() in (".npy", ".npz"):
        try:
            if src.member is None:
                return np.load(src.path, allow_pickle=False)
            with np.load(src.path, allow_pickle=False) as z:
                return z[src.member]
        except Exception as exc:
            raise EvaluationError(f"cannot read {src}: {exc}") from exc
    return _read_image(src)


def _npz_header(src: LabelSource) -> tuple[tuple[int, ...], np.dtype]:
    with zipfile.ZipFile(src.path) as zf, zf.open(f"{src.member}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    return tuple(shape), np.dtype(dtype)


def peek(src: LabelSource) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of ``src`` from its header only (for lazy Dask reads)."""
    try:
        if src.path.suffix.lower() == ".npy":
            arr = np.load(src.path, mmap_mode="r", allow_pickle=False)
            return tuple(arr.shape), arr.dtype
        if src.path.suffix.lower() == ".npz":
            return _npz_header(src)
    except Exception as exc:
        raise EvaluationError(f"cannot read {src}: {exc}") from exc
    img = _open_image(src)
    try:
        n = getattr(img, "n_frames", 1)
        w, h = img.size
        dtype = np.dtype(_IMAGE_DTYPES[img.mode])
    finally:
        img.close()
    return ((h, w) if n == 1 else (n, h, w)), dtype


def _class_names_text(path: str) -> str:
    label = f"--class-names {shown(path)}"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise EvaluationError(f"cannot read {label}: {exc}") from exc
    try:
        return data.decode("utf-8-sig")  # UTF-8, with or without a byte-order mark
    except UnicodeDecodeError as exc:
        raise EvaluationError(
            f"cannot read {label}: it is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); save the names as UTF-8"
        ) from exc


def _names_from_json(text: str) -> list[str]:
    data = json.loads(text)
    if isinstance(data, dict):
        ids = sorted(int(k) for k in data)
        if ids != list(range(len(ids))):
            raise ValueError(f"ids must be 0..{len(ids) - 1}; got {ids[:10]}")
        return [str(data[k]) for k in sorted(data, key=int)]
    if isinstance(data, list):
        return [str(x) for x in data]
    raise ValueError("expected a list of names or an object {id: name}")


def read_class_names(path: str, num_classes: int | None) -> list[str]:
    """Class names from a UTF-8 text file (one per line) or a JSON list / ``{id: name}``.

    Names are kept as printable text (see :func:`anyiou.cli._errors.shown`).

    Raises
    ------
    EvaluationError
        Unreadable file, text that is not UTF-8, bad JSON, or a number of names other
        than ``num_classes``.
    """
    text = _class_names_text(path)
    label = f"--class-names {shown(path)}"
    if path.lower().endswith(".json"):
        try:
            names = _names_from_json(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise EvaluationError(f"cannot read {label}: {shown(exc)}") from exc
    else:
        names = [line.strip() for line in text.splitlines() if line.strip()]
    names = [shown(n) for n in names]
    if num_classes is not None and len(names) != num_classes:
        raise EvaluationError(
            f"{label} has {len(names)} names but --num-classes is {num_classes}"
        )
    if not names:
        raise EvaluationError(f"{label} holds no name")
    return names
