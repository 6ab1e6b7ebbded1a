"""A growing wait after repeated failed unlocks, so passwords cannot be guessed quickly."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

from desktop.app.files import atomic_write_bytes

MAX_FILE_BYTES = 4096


class Attempts:
    """Failed unlock attempts for one store, kept in a small JSON file beside it.

    The file holds no secrets and no names: only the count and the time of the last failure.
    """

    FREE = 5
    BASE_DELAY = 30.0
    MAX_DELAY = 900.0

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        # Used instead of the file when the file could not be updated (a read-only folder).
        self._memory: tuple[int, float] | None = None

    def _load(self) -> tuple[int, float]:
        """(failures, time of the last one); a damaged file counts as FREE failures."""
        try:
            with open(self.path, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return 0, 0.0
        except OSError:
            return self._damaged()
        try:
            doc = json.loads(data)
            count, last = doc["failures"], doc["last"]
        except (ValueError, RecursionError, TypeError, KeyError):
            return self._damaged()
        if (
            len(data) > MAX_FILE_BYTES
            or not isinstance(count, int)
            or isinstance(count, bool)
            or count < 0
            or not isinstance(last, int | float)
            or isinstance(last, bool)
            or not math.isfinite(last)
        ):
            return self._damaged()
        return count, float(last)

    def _damaged(self) -> tuple[int, float]:
        try:
            return self.FREE, self.path.stat().st_mtime
        except OSError:
            return 0, 0.0

    def _state(self) -> tuple[int, float]:
        return self._memory if self._memory is not None else self._load()

    def wait_seconds(self) -> float:
        """Seconds to wait before the next attempt; 0 when one may be made now."""
        count, last = self._state()
        if count < self.FREE:
            return 0.0
        delay = min(self.BASE_DELAY * 2.0 ** min(count - self.FREE, 32), self.MAX_DELAY)
        # A clock set back never makes the wait longer than the delay itself.
        return max(0.0, min(delay, last + delay - self._clock()))

    def failed(self) -> None:
        """Record one more failure now."""
        count, _ = self._state()
        state = (count + 1, self._clock())
        data = json.dumps({"failures": state[0], "last": state[1]}).encode("ascii")
        try:
            atomic_write_bytes(self.path, data)
        except OSError:
            self._memory = state
        else:
            self._memory = None

    def succeeded(self) -> None:
        """Forget all failures after a successful unlock."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            self._memory = (0, 0.0)
        else:
            self._memory = None
