"""Commands of ``pathway`` for the monthly report and the printable episode sheet.

``report`` (managers only) prints a month's counts as plain text or JSON, or writes them as
a PDF; it never shows anything about one person. ``sheet`` writes one episode's
confidential one-page sheet as a PDF, for the paper file or a handover.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from desktop.cli.common import UsageError, open_store, store_arg
from desktop.domain.datasets import KINDS
from desktop.domain.period import Period
from desktop.domain.spec import RefData
from desktop.export.report import monthly_report


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="the monthly report: counts only, as text, JSON or PDF (managers)"
    )
    store_arg(p)
    p.add_argument("--period", required=True, help="the month to report on, YYYY-MM")
    p.add_argument(
        "--dataset",
        choices=sorted(KINDS.values()),
        help="which dataset (default: the store's own)",
    )
    p.add_argument("--pdf", type=Path, metavar="FILE", help="write the report as a PDF file")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")

    p = sub.add_parser(
        "sheet", help="one episode on one A4 page (PDF), marked confidential, for the paper file"
    )
    store_arg(p)
    p.add_argument("--episode", required=True, metavar="ID", help="the episode's id")
    p.add_argument("--pdf", type=Path, required=True, metavar="FILE", help="the PDF file to write")


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {"report": _report, "sheet": _sheet}


def _target(path: Path) -> Path:
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name ending in .pdf")
    return path


def _unwritable(path: Path, exc: OSError) -> UsageError:
    reason = exc.strerror or str(exc)
    return UsageError(f"{path}: the PDF could not be written ({reason}); nothing was changed")


def _report(args: argparse.Namespace, refdata: RefData) -> int:
    try:
        period = Period.parse(args.period)
    except ValueError as exc:
        raise UsageError(f"--period: {exc}") from None
    pdf_path = _target(args.pdf) if args.pdf is not None else None
    store = open_store(args, refdata)
    try:
        report = monthly_report(store, period, args.dataset)
    finally:
        store.close(backup_reason=None)
    if pdf_path is not None:
        from desktop.export.pdf import write_report_pdf

        try:
            pages = write_report_pdf(report, pdf_path)
        except OSError as exc:
            raise _unwritable(pdf_path, exc) from None
        done = (
            f"Monthly report for {period.label} written to {pdf_path}"
            f" ({pages} {'page' if pages == 1 else 'pages'}; counts only)."
        )
        print(done, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        sys.stdout.write(report.to_json_text())
    elif pdf_path is None:
        sys.stdout.write(report.as_text())
    return 0


def _sheet(args: argparse.Namespace, refdata: RefData) -> int:
    pdf_path = _target(args.pdf)
    store = open_store(args, refdata)
    try:
        from desktop.export.pdf import save_sheet

        try:
            # Noted in the audit trail (who printed which episode, and when), or not kept.
            save_sheet(store, args.episode.strip(), pdf_path)
        except OSError as exc:
            raise _unwritable(pdf_path, exc) from None
    finally:
        store.close(backup_reason=None)
    print(
        f"Episode sheet written to {pdf_path}. It holds personal data: print it, file it"
        " under lock, and delete the PDF when it is no longer needed."
    )
    return 0
