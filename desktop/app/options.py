"""The options that open the window (or check the installation), shared by the start-up
(:mod:`desktop.app.launch`) and the command line (:mod:`desktop.cli`).

Here rather than in either of them, so that the command line does not import the start-up
that imports it, and the start-up stays as light as this module: argparse and nothing else.
"""

from __future__ import annotations

import argparse
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
