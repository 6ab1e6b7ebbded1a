"""A child process for the kill test: unlock a store and export one month, saying how far
it got on standard output (``ready``, ``progress DONE TOTAL``, ``done``).

Run as ``python -m tests.export.killkit STORE FOLDER MONTH``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from desktop.export.submission import export
from tests.export.conftest import reopen


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(store_path: str, folder: str, month: str) -> int:
    store = reopen(Path(store_path))
    try:
        _say("ready")

        def progress(done: int, total: int) -> bool:
            _say(f"progress {done} {total}")
            return True

        export(store, "cjit-q", month, Path(folder), progress=progress)
        _say("done")
    finally:
        store.close(backup_reason=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
