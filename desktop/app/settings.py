"""This worker's preferences on this laptop: typed, checked on load, never client data.

Kept as JSON (``settings.json``) in the user's settings folder (``paths.config_dir()``).
Every setting is declared once below with its default, its bounds and what it is for;
a value that is missing, of the wrong type or out of bounds falls back to its default
(and is named in :attr:`Loaded.problems`), so a damaged file never stops Pathway.
Unknown keys are dropped. Window geometry is Qt's business and lives beside this file in
``window.ini`` (QSettings, written by the window itself).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.app import paths
from desktop.app.files import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
WINDOW_STATE = "window.ini"
VERSION = 1


def _setting(default: Any, text: str, lo: int | None = None, hi: int | None = None) -> Any:
    return field(default=default, metadata={"help": text, "min": lo, "max": hi})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every preference, with its default. Build changed copies with :meth:`replace`."""

    idle_lock_minutes: int = _setting(
        5, "Minutes without a key press or a click before the window locks.", 1, 60
    )

    @property
    def idle_lock_ms(self) -> int:
        return self.idle_lock_minutes * 60_000

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``; raises ValueError naming a setting that does not fit."""
        bad = [name for name in changes if name not in _FIELDS]
        if bad:
            raise ValueError(f"no such setting: {', '.join(sorted(bad))}")
        for name, value in changes.items():
            if not _fits(_FIELDS[name], value):
                raise ValueError(f"{name}: {describe(name)}")
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return {"version": VERSION, **dataclasses.asdict(self)}


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def describe(name: str) -> str:
    """What a setting is for, and its bounds when it has any."""
    meta = _FIELDS[name].metadata
    bounds = f" ({meta['min']} to {meta['max']})" if meta["min"] is not None else ""
    return f"{meta['help']}{bounds}"


def _fits(spec: dataclasses.Field[Any], value: object) -> bool:
    kind = type(spec.default)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        lo, hi = spec.metadata["min"], spec.metadata["max"]
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    return isinstance(value, kind)


@dataclass(frozen=True, slots=True)
class Loaded:
    settings: Settings
    problems: tuple[str, ...] = ()


def settings_file() -> Path:
    return paths.config_dir() / FILE_NAME


def window_state_file() -> Path:
    """Where the window keeps its size and position (QSettings, INI format)."""
    return paths.config_dir() / WINDOW_STATE


def load(path: Path | None = None) -> Loaded:
    """The saved settings, or the defaults where there are none or they do not fit."""
    path = path or settings_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Loaded(Settings())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("settings unreadable (%s); defaults used", type(exc).__name__)
        return Loaded(Settings(), ("the settings file could not be read",))
    if not isinstance(data, dict):
        return Loaded(Settings(), ("the settings file is not a set of settings",))
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, spec in _FIELDS.items():
        if name not in data:
            continue
        if _fits(spec, data[name]):
            values[name] = data[name]
        else:
            problems.append(f"{name} was not usable; the default is used")
    if problems:
        log.warning("settings: %d value(s) replaced by defaults", len(problems))
    return Loaded(Settings(**values), tuple(problems))


def save(settings: Settings, path: Path | None = None) -> bool:
    """Write the settings whole (or not at all). False, logged, when the disk refuses."""
    path = path or settings_file()
    try:
        atomic_write_text(path, json.dumps(settings.as_json(), indent=2) + "\n")
    except OSError as exc:
        log.warning("settings not saved (%s)", type(exc).__name__)
        return False
    return True
