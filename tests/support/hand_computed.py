"""Small hand-computed metric scenarios: inputs of a few pixels whose IoU is worked out
by hand (and agrees with torchmetrics, scikit-learn, Keras or MONAI wherever those define
the same quantity). Each scenario is a letter, used in the test ids:

* A: one 2x2 image, target ``[[0, 0], [1, 1]]``, prediction ``[[0, 1], [1, 1]]``; class 2
  appears in neither (so its IoU is 0/0 and ``zero_division`` decides it).
* B: the same target, prediction ``[[0, 2], [1, 1]]``: class 2 is predicted but absent
  from the target.
* C: every target pixel is ``ignore_index`` (255): nothing is counted (0/0 everywhere).
* D1, D2 (binary): two 2x2 images with targets ``[[1, 1], [0, 0]]`` and all zero; image 0
  predicts ``[[1, 0], [0, 0]]``; image 1 (empty target) predicts nothing (D1) or one
  false positive (D2).
* E: a perfect prediction.
* G: one ignored target pixel (255) and class 2 only in the target.
* I (in the tests): a probability exactly at the threshold counts as positive (>=).
* K: two images, (prediction, target) = A and ``[[2, 0], [0, 0]]`` vs ``[[2, 2], [2, 0]]``:
  counts accumulated over both images give 0.466667 (torchmetrics
  MulticlassJaccardIndex, Keras MeanIoU), per-image means 0.458333.
* M (in the tests): multilabel, label 1 empty in both target and prediction.
* N: ``ignore_index=0``, a class id: pixels of target class 0 are dropped.
"""

from __future__ import annotations

import numpy as np

# -- get_stats + iou_score (multiclass images of shape (N, 2, 2), C = 3) --------------------

A_TARGET = [[[0, 0], [1, 1]]]
SMP_SCORE_CASES = [
    # (case, output, target, get_stats kwargs, reduction, zero_division, expected IoU)
    ("A-micro", [[[0, 1], [1, 1]]], A_TARGET, {}, "micro", 1.0, 0.6),
    ("A-macro", [[[0, 1], [1, 1]]], A_TARGET, {}, "macro", 1.0, 0.722222),
    ("A-macro-zd0", [[[0, 1], [1, 1]]], A_TARGET, {}, "macro", 0, 0.388889),
    ("A-micro-imagewise", [[[0, 1], [1, 1]]], A_TARGET, {}, "micro-imagewise", 1.0, 0.6),
    ("A-none", [[[0, 1], [1, 1]]], A_TARGET, {}, "none", 1.0, [[0.5, 0.666667, 1.0]]),
    ("B-macro", [[[0, 2], [1, 1]]], A_TARGET, {}, "macro", 1.0, 0.5),
    ("B-none", [[[0, 2], [1, 1]]], A_TARGET, {}, "none", 0, [[0.5, 1.0, 0.0]]),
    ("C-micro", [[[0, 1], [2, 0]]], [[[255, 255], [255, 255]]], {"ignore_index": 255},
     "micro", 1.0, 1.0),  # smp: nan (zero_division skipped for micro)
    ("C-macro", [[[0, 1], [2, 0]]], [[[255, 255], [255, 255]]], {"ignore_index": 255},
     "macro", 1.0, 1.0),
    ("C-macro-zd0", [[[0, 1], [2, 0]]], [[[255, 255], [255, 255]]], {"ignore_index": 255},
     "macro", 0, 0.0),
    ("E-perfect-macro", [[[0, 2], [1, 1]]], [[[0, 2], [1, 1]]], {}, "macro", 0, 1.0),
    ("E-perfect-micro", [[[0, 2], [1, 1]]], [[[0, 2], [1, 1]]], {}, "micro", 0, 1.0),
    ("G-micro", [[[0, 0], [1, 1]]], [[[0, 255], [1, 2]]], {"ignore_index": 255}, "micro",
     1.0, 0.5),
    ("G-none", [[[0, 0], [1, 1]]], [[[0, 255], [1, 2]]], {"ignore_index": 255}, "none", 1.0,
     [[1.0, 0.5, 0.0]]),
    ("K-micro", [[[0, 1], [1, 1]], [[2, 0], [0, 0]]], [[[0, 0], [1, 1]], [[2, 2], [2, 0]]],
     {}, "micro", 1.0, 0.454545),
    ("K-macro", [[[0, 1], [1, 1]], [[2, 0], [0, 0]]], [[[0, 0], [1, 1]], [[2, 2], [2, 0]]],
     {}, "macro", 1.0, 0.466667),
    ("K-macro-imagewise", [[[0, 1], [1, 1]], [[2, 0], [0, 0]]],
     [[[0, 0], [1, 1]], [[2, 2], [2, 0]]], {}, "macro-imagewise", 1.0, 0.638889),
    ("N-in-range-ignore-none", [[[1, 0], [1, 0]]], [[[0, 0], [1, 1]]], {"ignore_index": 0},
     "none", 1.0, [[0.0, 0.5, 1.0]]),  # smp raises; kept pixels (t=1,p=1), (t=1,p=0)
]

# -- get_stats + iou_score on the binary D scenarios ------------------------------------

D_TARGET = np.array([[[[1, 1], [0, 0]]], [[[0, 0], [0, 0]]]])
#: (case, image 1's prediction, reduction, zero_division, expected IoU); image 0
#: predicts [[1, 0], [0, 0]]
EMPTY_IMAGE_CASES = [
    ("D1-micro", [[0, 0], [0, 0]], "micro", 1.0, 0.5),
    ("D1-micro-imagewise", [[0, 0], [0, 0]], "micro-imagewise", 1.0, 0.75),
    ("D1-micro-imagewise-zd0", [[0, 0], [0, 0]], "micro-imagewise", 0, 0.25),
    ("D1-none", [[0, 0], [0, 0]], "none", 1.0, [[0.5], [1.0]]),
    ("D2-micro", [[1, 0], [0, 0]], "micro", 1.0, 0.333333),
    ("D2-micro-imagewise", [[1, 0], [0, 0]], "micro-imagewise", 1.0, 0.25),
    ("D2-none", [[1, 0], [0, 0]], "none", 1.0, [[0.5], [0.0]]),
]

# -- jaccard_index (the same scenarios flattened to (N, 4) labels, C = 3) ------------------

A_TARGET_FLAT = [[0, 0, 1, 1]]
JACCARD_INDEX_CASES = [
    ("A-macro", [[0, 1, 1, 1]], A_TARGET_FLAT, {}, 0.583333),
    ("A-micro", [[0, 1, 1, 1]], A_TARGET_FLAT, {"average": "micro"}, 0.6),
    ("A-weighted", [[0, 1, 1, 1]], A_TARGET_FLAT, {"average": "weighted"}, 0.583333),
    ("A-none", [[0, 1, 1, 1]], A_TARGET_FLAT, {"average": "none"}, [0.5, 0.666667, 0.0]),
    ("A-none-zd1", [[0, 1, 1, 1]], A_TARGET_FLAT, {"average": "none", "zero_division": 1},
     [0.5, 0.666667, 1.0]),
    ("A-macro-zd1", [[0, 1, 1, 1]], A_TARGET_FLAT, {"zero_division": 1}, 0.583333),
    ("B-macro", [[0, 2, 1, 1]], A_TARGET_FLAT, {}, 0.5),
    ("B-weighted", [[0, 2, 1, 1]], A_TARGET_FLAT, {"average": "weighted"}, 0.75),
    ("B-none", [[0, 2, 1, 1]], A_TARGET_FLAT, {"average": "none"}, [0.5, 1.0, 0.0]),
    ("E-perfect", [[0, 2, 1, 1]], [[0, 2, 1, 1]], {}, 1.0),
    ("G-macro", [[0, 0, 1, 1]], [[0, 255, 1, 2]], {"ignore_index": 255}, 0.5),
    ("G-micro", [[0, 0, 1, 1]], [[0, 255, 1, 2]], {"ignore_index": 255, "average": "micro"},
     0.5),
    ("N-macro", [[1, 0, 1, 0]], A_TARGET_FLAT, {"ignore_index": 0}, 0.5),
    ("N-micro", [[1, 0, 1, 0]], A_TARGET_FLAT, {"ignore_index": 0, "average": "micro"}, 0.5),
    ("N-none", [[1, 0, 1, 0]], A_TARGET_FLAT, {"ignore_index": 0, "average": "none"}, [0.0, 0.5, 0.0]),
    ("K-concatenated", [[0, 1, 1, 1], [2, 0, 0, 0]], [[0, 0, 1, 1], [2, 2, 2, 0]], {},
     0.466667),
]
