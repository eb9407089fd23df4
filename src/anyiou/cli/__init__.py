"""The ``anyiou`` command line (also ``python -m anyiou``).

``anyiou evaluate PRED TARGET --num-classes C`` scores folders, files or globs of
predicted label maps against ground truth: a per-class table (IoU, Dice, precision,
recall, support) with mIoU and pixel accuracy, or Markdown/JSON/CSV. ``anyiou evaluate
--example`` runs on the small dataset shipped in :mod:`anyiou.data`. ``anyiou demo``
computes every loss on each installed array library; ``anyiou --version`` prints the
version.

Exit status: 0 on success, 1 for bad data (missing or unmatched files, shapes, labels,
unreadable files, an unusable backend, numbers out of bounds, an ``--output`` that
cannot be written), 2 for bad arguments (a bare ``anyiou`` prints the help and exits
2). Nothing but the error, on one line, is written on failure; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .. import __version__
from ._errors import EvaluationError, shown

__all__ = ["EvaluationError", "build_parser", "main"]

_AVERAGES = ("macro", "micro", "weighted")
# a dask.distributed address: "scheme://..." or "host:port"
_ADDRESS = re.compile(r"^([a-z]+://.+|[\w.\-\[\]:]+:\d+)$", re.IGNORECASE)


def _ignore_values(text: str) -> list[int]:
    """One ``--ignore-index`` argument: integers separated by commas."""
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas (e.g. 255 or 255,0); got {text!r}"
        ) from None


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from ._boundary import DEFAULT_RATIO
    from ._evaluate import BACKENDS, DASK_SCHEDULERS
    from ._report import FORMATS, SUFFIXES
    from ._threads import MAX_WORKERS

    p = sub.add_parser(
        "evaluate",
        help="score predicted label maps against ground truth (per-class IoU, mIoU, ...)",
        description=(
            "Score predicted label maps against ground truth. PRED and TARGET are folders "
            "(searched recursively, files matched by relative path or file stem), single "
            "files, or globs, of PNG/TIFF label maps (palette PNGs read as labels), .npy or "
            ".npz arrays. A float .npy/.npz prediction of shape (C, *S) holds class scores "
            "(argmax over axis 0)."
        ),
        epilog="Exit status: 0 success, 1 bad data (nothing written but the error), 2 usage.",
    )
    p.add_argument("pred", nargs="?", metavar="PRED", help="predicted label maps")
    p.add_argument("target", nargs="?", metavar="TARGET", help="ground-truth label maps")
    p.add_argument("-c", "--num-classes", type=int, metavar="C",
                   help="number of classes (default: the number of --class-names)")
    p.add_argument("-i", "--ignore-index", type=_ignore_values, action="extend", metavar="I",
                   help="target value of void pixels, left out (e.g. 255); several: "
                        "repeat the option or separate values by commas (-i 255,0; "
                        "write -i=-1,255 when the first value is negative)")
    p.add_argument("--average", choices=_AVERAGES, default="macro",
                   help="how mIoU/mDice average the classes (default: macro, over the "
                        "classes present in target or prediction)")
    p.add_argument("--per-image", action="store_true", help="also score every image")
    p.add_argument("--boundary", nargs="?", type=float, const=DEFAULT_RATIO,
                   metavar="RATIO",
                   help="also report Boundary IoU (IoU of the bands within RATIO x image "
                        f"diagonal of the contours; default {DEFAULT_RATIO}): a column and "
                        "its mean; a word after a bare --boundary that is not a number is "
                        "PRED or TARGET")
    p.add_argument("--backend", choices=BACKENDS, default="numpy",
                   help="array library that counts (default: numpy)")
    p.add_argument(
        "--dask", nargs="?", const="threads", metavar="SCHEDULER_ADDRESS",
        help=f"count lazily with Dask: a local scheduler ({', '.join(DASK_SCHEDULERS[:3])}; "
             "default threads) or a dask.distributed address such as tcp://host:8786 "
             "(write --dask=ADDRESS, or put --dask after PRED TARGET)",
    )
    p.add_argument("-j", "--workers", type=int, metavar="N",
                   help="threads that read, check and count the files, a few pairs ahead "
                        f"(default: the number of CPUs, at most 4; 1: one file at a time; "
                        f"at most {MAX_WORKERS}); not used with --dask")
    known = ", ".join(f"{k} {v}" for k, v in SUFFIXES.items())
    p.add_argument("-f", "--format", choices=FORMATS,
                   help=f"output format (default: from --output's suffix: {known}; "
                        "else table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    p.add_argument("--class-names", metavar="FILE",
                   help="class names: a text file with one per line, or JSON (list or "
                        "{id: name})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--example", action="store_true",
                   help="evaluate the small dataset shipped with anyiou (4 classes, void 255)")
    p.set_defaults(subparser=p)


def build_parser() -> argparse.ArgumentParser:
    """The ``anyiou`` argument parser (subcommands ``evaluate`` and ``demo``)."""
    parser = argparse.ArgumentParser(
        prog="anyiou", description="IoU losses and metrics on every array library.",
        epilog="Run 'anyiou evaluate --example' to score the shipped example data set.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{evaluate,demo}")
    _add_evaluate(sub)
    sub.add_parser("demo", help="compute each loss and its gradient on every installed backend")
    return parser


def _resolve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Fill the defaults of ``--example`` and check what argparse cannot."""
    from ._evaluate import DASK_SCHEDULERS
    from ._threads import MAX_WORKERS

    if args.dask is not None and args.dask not in DASK_SCHEDULERS and not _ADDRESS.match(
        args.dask
    ):
        parser.error(
            f"--dask got {args.dask!r}, which is neither a scheduler "
            f"({', '.join(DASK_SCHEDULERS[:3])}) nor an address (tcp://host:port); put "
            "--dask after PRED TARGET, or write --dask=ADDRESS"
        )
    if args.example:
        from ..data import EXAMPLE_IGNORE_INDEX, EXAMPLE_NUM_CLASSES, example_dir

        root = example_dir()
        args.pred = args.pred or str(root / "preds")
        args.target = args.target or str(root / "targets")
        if args.num_classes is None:
            args.num_classes = EXAMPLE_NUM_CLASSES
        if args.ignore_index is None:
            args.ignore_index = EXAMPLE_IGNORE_INDEX
        args.class_names = args.class_names or str(root / "classes.txt")
    if args.pred is None or args.target is None:
        parser.error("evaluate needs PRED and TARGET (or --example)")
    if args.num_classes is None and args.class_names is None:
        parser.error("give --num-classes C (or --class-names FILE)")
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}; got {args.workers}")
    if args.num_classes is not None and args.num_classes < 1:
        parser.error(f"--num-classes must be at least 1; got {args.num_classes}")
    if args.boundary is not None:
        from ._boundary import check_ratio

        if (problem := check_ratio(args.boundary)) is not None:
            parser.error(problem)
    args.format = _output_format(args.format, args.output, parser)


def _output_format(fmt: str | None, output: str | None,
                   parser: argparse.ArgumentParser) -> str:
    """The report's format: ``--format``, else the one ``--output``'s suffix names, else
    table. A suffix that names another format than ``--format``, or none (without
    ``--format``), is a usage error; a name without a suffix is fine."""
    from ._report import SUFFIXES

    suffix = Path(output).suffix if output else ""
    implied = SUFFIXES.get(suffix.lower())
    known = ", ".join(f"{k} ({v})" for k, v in SUFFIXES.items())
    if fmt is None and suffix and implied is None:
        parser.error(f"-o/--output {shown(output)}: no report format has the suffix "
                     f"{shown(suffix)}; use one of {known}, or give --format")
    if fmt is not None and implied is not None and implied != fmt:
        parser.error(f"-o/--output {shown(output)}: the suffix {shown(suffix)} is for "
                     f"{implied}, but --format is {fmt}")
    return fmt or implied or "table"


def evaluate(args: argparse.Namespace) -> int:
    """Run ``anyiou evaluate`` on parsed arguments; raises :class:`EvaluationError`."""
    from ._checks import check_ignore_index, check_memory, check_num_classes
    from ._evaluate import count, resolve_backend
    from ._files import match
    from ._io import read_class_names
    from ._output import check_output, write_report
    from ._report import build_report, render
    from ._threads import keep_freed_memory

    check_output(args.output)  # before any file is read
    args.ignore_index = check_ignore_index(args.ignore_index)
    if args.num_classes is not None:
        check_num_classes(args.num_classes)
    names = None
    if args.class_names is not None:
        names = read_class_names(args.class_names, args.num_classes)
    if args.num_classes is None:
        check_num_classes(len(names), f"--class-names {shown(args.class_names)}")
    num_classes = args.num_classes if args.num_classes is not None else len(names)
    if args.dask is None:
        resolve_backend(args.backend)  # a missing library fails before any file is read
    pairs = match(args.pred, args.target)
    if args.per_image:
        check_memory(num_classes, len(pairs))
    keep_freed_memory()
    counts = count(
        pairs, num_classes, args.ignore_index, backend=args.backend,
        per_image=args.per_image, progress=not args.quiet, dask=args.dask,
        workers=args.workers, boundary=args.boundary,
    )
    backend = "dask" if args.dask is not None else args.backend
    report = build_report(counts, ignore_index=args.ignore_index, average=args.average,
                          class_names=names, backend=backend)
    if args.boundary is not None:  # counted with the confusion matrix
        from ._boundary import add_boundary

        add_boundary(report, counts.bands, counts.per_pair_bands, args.boundary)
    write_report(render(report, args.format), args.output)
    return 0


def _guarded(prog: str, run, *args) -> int:
    """``run(*args)``, with every failure as one line on stderr and exit status 1."""
    try:
        return run(*args)
    except EvaluationError as exc:
        message = str(exc)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (`anyiou evaluate ... | head`)
        try:  # nothing more to say, and no second error when Python flushes stdout
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except MemoryError as exc:
        message = f"not enough memory: {exc}"
    except Exception as exc:  # a bug, or a failure nothing above foresaw: still one line
        message = f"unexpected {type(exc).__name__}: {exc}"
    print(f"{prog}: error: {shown(message)}", file=sys.stderr)
    return 1


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _bare_boundary(argv: list[str]) -> list[str]:
    """``argv`` with the default ratio written after a bare ``--boundary`` (or an
    abbreviation such as ``--bound``) followed by a word that is not a number.

    ``--boundary`` takes an optional value; argparse would read ``--boundary preds/ gt/``
    as the ratio ``preds/`` and refuse it. A word that is not a number is PRED or TARGET
    instead. Nothing after ``--`` is touched.
    """
    from ._boundary import DEFAULT_RATIO

    out = list(argv)
    for i, word in enumerate(out[:-1]):
        if word == "--":
            break
        if len(word) >= 4 and "--boundary".startswith(word):  # --bo: not --backend
            nxt = out[i + 1]
            if not nxt.startswith("-") and not _is_number(nxt):
                return [*out[: i + 1], str(DEFAULT_RATIO), *_bare_boundary(out[i + 1:])]
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``anyiou`` / ``python -m anyiou``; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(_bare_boundary(argv))
    if args.command is None:  # a bare `anyiou`: the help, as a usage error
        parser.print_help(sys.stderr)
        return 2
    if args.command == "demo":
        from .._demo import run

        return _guarded("anyiou demo", run)
    _resolve(args, args.subparser)
    return _guarded("anyiou evaluate", evaluate, args)
