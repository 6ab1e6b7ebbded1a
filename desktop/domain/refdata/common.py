"""What loading and importing reference data share: the error that names the file, the
line and the reason, and reading a TOML file with its lines (to find where a table is).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class RefDataError(Exception):
    """Reference data that cannot be used. ``str()`` gives file, line and reason."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {reason}")


def read_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The tables of a TOML file and its lines; one that cannot be read or parsed is a
    :class:`RefDataError` (with the line, when TOML names it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RefDataError(path, 0, "the file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RefDataError(path, 0, f"the file cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RefDataError(path, int(match.group(1)) if match else 0, str(exc)) from None
    return data, text.splitlines()


def line_of(lines: Sequence[str], needle: str) -> int:
    """The number of the first line holding ``needle`` (0 when none does)."""
    for number, line in enumerate(lines, start=1):
        if needle in line:
            return number
    return 0
