"""Start Pathway: the window when no command is given, otherwise the command line.

Kept small on purpose: opening the window must not wait for the command-line modules
(and the store's libraries), so the unlock window is on screen as soon as Qt is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from desktop.app.options import add_top_options


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
