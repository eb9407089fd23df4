"""tests/adapters/keras/ runs only in the nox ``keras`` sessions: Keras reads
``KERAS_BACKEND`` once, at import, so those tests need it set (to ``jax`` or ``torch``)
before pytest starts. Otherwise they are not collected (neither run nor skipped)."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("KERAS_BACKEND") in ("jax", "torch") else ["keras"]
