"""What the command groups of ``pathway`` share: the usage error, the ``--store`` option,
opening the store with the password from the environment or a prompt, reading JSON input,
and printing JSON and times.

Passwords come from ``PATHWAY_PASSWORD`` (the user's password) and the user from
``PATHWAY_USER`` (defaults to the only user). Without them, and on a terminal, the password
is asked for and not echoed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from desktop.domain.spec import RefData
from desktop.storage.store import Store, default_store


class UsageError(Exception):
    """Input the command cannot use; the message is shown as it is."""


def store_arg(p: argparse.ArgumentParser) -> None:
    """The ``--store`` option of every command that opens a store."""
    p.add_argument(
        "--store",
        type=Path,
        help="the store file (default: pathway.store in your Pathway data folder)",
    )


def store_path(args: argparse.Namespace) -> Path:
    """The store named by ``--store``, or the default one in this user's Pathway folder."""
    from desktop.app import paths

    given: Path | None = getattr(args, "store", None)
    return given if given is not None else default_store(paths.data_dir())


def secret(variable: str, prompt: str, *, confirm: bool = False) -> str:
    """A password from the environment ``variable``, or asked for on a terminal."""
    value = os.environ.get(variable)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"no password: set {variable} or run this in a terminal")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Type it again: ") != first:
        raise UsageError("the two passwords were not the same; nothing was changed")
    return first


def user_name() -> str | None:
    """The user named by ``PATHWAY_USER``; None means the store's only user."""
    return os.environ.get("PATHWAY_USER") or None


def open_store(args: argparse.Namespace, refdata: RefData) -> Store:
    """The store of ``--store``, unlocked with ``PATHWAY_PASSWORD`` (or the password asked for)."""
    return Store.open(
        store_path(args), user_name(), secret("PATHWAY_PASSWORD", "Password: "), refdata=refdata
    )


def read_json(name: str, *, stdin: bool = True, not_done: str = "") -> object:
    """The JSON in the file ``name``; with ``stdin``, ``-`` reads standard input instead.

    Input that cannot be used raises UsageError saying what to do about it; ``not_done`` ends
    the message about invalid JSON (e.g. ``"; nothing was imported"``).
    """
    try:
        if stdin and name == "-":
            text = sys.stdin.read()
        else:
            text = Path(name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: this is a folder, not a file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name}: the file is not UTF-8 text; save it as UTF-8 JSON") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read the file ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}){not_done}"
        ) from None


def print_json(data: object) -> None:
    """``data`` as indented JSON (non-ASCII kept as it is) on standard output."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def local_time(moment: datetime | None) -> str:
    """A stored UTC time as this laptop's local date and time, to the minute."""
    if moment is None:
        return "unknown time"
    return f"{moment.replace(tzinfo=UTC).astimezone():%Y-%m-%d %H:%M}"
