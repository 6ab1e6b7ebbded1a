"""``pathway`` / ``python -m desktop``: Pathway's operations without a screen.

Every command prints JSON or plain text to standard output. Input that cannot be used
ends the command with exit status 2 and one line on standard error saying what to do.

This module holds the parser and :func:`main`; each group of commands is a module beside it
(``reference``, ``store``, ``month_end``, ``report``, ``bundles``) with its ``add_parsers``
and ``handlers``, and what they share is in ``common``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from desktop import APP_NAME, __version__
from desktop.app.options import add_top_options
from desktop.cli import bundles, month_end, reference, report, store
from desktop.cli.common import UsageError
from desktop.domain.refdata import RefDataError
from desktop.storage.errors import StoreError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathway",
        description=(
            f"{APP_NAME} {__version__}: NDTMS case recording for CJIT and secure-setting teams."
        ),
    )
    add_top_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    reference.add_parsers(sub)
    store.add_parsers(sub)
    month_end.add_parsers(sub)
    report.add_parsers(sub)
    bundles.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from desktop.app import selftest

        return selftest.main(args.self_test)
    if args.command is None:
        from desktop.ui.app import run_app

        return run_app(store=args.app_store, demo=args.demo)
    try:
        from desktop.app import paths

        refdata = paths.load()
        for problem in refdata.problems:
            print(f"pathway: note: {problem}", file=sys.stderr)
        handler = {
            **reference.handlers(),
            **store.handlers(),
            **month_end.handlers(),
            **report.handlers(),
            **bundles.handlers(),
        }[args.command]
        return handler(args, refdata)
    except (UsageError, RefDataError, StoreError) as exc:
        print(f"pathway: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
