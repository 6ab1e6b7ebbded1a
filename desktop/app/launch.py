"""Start Pathway: the window when no command is given, otherwise the command line.

Kept small on purpose: opening the window must not wait for the command-line modules
(and the store's libraries), so the unlock window is on screen as soon as Qt is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import CMSID


def add_top_options(parser: argparse.ArgumentParser) -> None:
    """The options that open the window (or check the installation), shared with the CLI."""
    parser.add_argument("--version", action="version", version=CMSID)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the window on a demo store of synthetic clients (user demo, password demo)",
    )
    parser.add_argument(
        "--store", type=Path, dest="app_store", help="open the window on this store file"
    )
    parser.add_argument(
        "--self-test",
        nargs="?",
        const="all",
        choices=("all", "start"),
        help="check this installation end to end on synthetic clients in a temporary folder"
        " ('start': only start up to the unlock window, then quit)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(args):
        parser = argparse.ArgumentParser(prog="pathway", add_help=False)
        add_top_options(parser)
        try:
            top, rest = parser.parse_known_args(args)
        except SystemExit as done:  # --version, or a bad option value
            return int(done.code or 0)
        if not rest:
            if top.self_test:
                from desktop.app import selftest

                return selftest.main(top.self_test)
            from desktop.ui.app import run_app

            return run_app(store=top.app_store, demo=top.demo)
    from desktop.cli import main as command_line

    return command_line(args)
