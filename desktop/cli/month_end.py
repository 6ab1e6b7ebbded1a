"""Commands of ``pathway`` for the month-end export: ``check``, ``export`` and ``exports``.

``check`` shows what the NDTMS portal will make of the month's file before it is
written; ``export`` writes it (managers only); ``exports`` lists past exports. The
password comes from ``PATHWAY_PASSWORD`` (and the user from ``PATHWAY_USER``), as for
every store command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from desktop.cli.common import UsageError, local_time, open_store, print_json, store_arg
from desktop.domain.spec import RefData
from desktop.export.submission import (
    DATASETS,
    CheckResult,
    ExportError,
    Period,
    check,
    export,
    history,
    parse_period,
)

SHOWN_PER_RULE = 10


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser, *, period: bool = True) -> None:
        store_arg(p)
        if period:
            p.add_argument("--dataset", required=True, choices=DATASETS)
            p.add_argument("--period", required=True, help="the month, YYYY-MM (e.g. 2026-10)")

    p = sub.add_parser(
        "check", help="before uploading: what NDTMS will make of the month's file (load %%, DQ %%)"
    )
    common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")

    p = sub.add_parser("export", help="write the month's NDTMS submission file (managers only)")
    common(p)
    p.add_argument("--out", type=Path, required=True, help="an existing folder for the file")
    p.add_argument(
        "--include-errors",
        action="store_true",
        help="also send records with errors (NDTMS rejects them); by default they are held back",
    )

    p = sub.add_parser("exports", help="past exports: who, when, dataset, month, counts, SHA-256")
    common(p, period=False)
    p.add_argument("--dataset", choices=DATASETS, help="only this dataset")


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {"check": _check, "export": _export, "exports": _exports}


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except ExportError as exc:
        raise UsageError(str(exc).rstrip(".")) from None


def _check(args: argparse.Namespace, refdata: RefData) -> int:
    period = _period(args.period)
    store = open_store(args, refdata)
    try:
        result = check(store, args.dataset, period)
    finally:
        store.close(backup_reason=None)
    if args.json:
        print_json(result.as_json())
        return 0
    _print_check(result, refdata)
    return 0


def _print_check(result: CheckResult, refdata: RefData) -> None:
    spec = refdata.datasets[result.dataset]
    period = parse_period(result.period)
    print(f"{spec.title}, {period.label}: {result.records} records would be sent.")
    print(
        f"  Load %: {result.load_pct:.1f} ({result.with_errors} records with errors, held back"
        " from the file unless errors are included)"
    )
    print(f"  DQ %:   {result.dq_pct:.1f} ({result.with_warnings} records with warnings)")
    if result.with_mismatches:
        print(
            f"  Mismatches: {result.with_mismatches} records have a field that must not change"
            " changed since it was sent."
        )
    if result.left_out_no_consent:
        print(
            f"  Left out: {result.left_out_no_consent} episodes whose client has not consented"
            " to NDTMS (now)."
        )
    if result.undecided:
        print(
            f"  Waiting for the caseload decision ({len(result.undecided)} CJIT episodes, not"
            " sent until the client is taken on or the episode is closed):"
        )
        for held in result.undecided[:SHOWN_PER_RULE]:
            client = f" (client {held.client})" if held.client else ""
            print(f"    episode {held.episode_id}{client}")
        if len(result.undecided) > SHOWN_PER_RULE:
            more = len(result.undecided) - SHOWN_PER_RULE
            print(f"    … and {more} more (--json lists them all)")
    if result.format_provisional:
        print("  Note: the file format settings are provisional (see [export] in the manifest).")
    if result.rules:
        print("Findings by rule:")
    for rule in result.rules:
        print(
            f"  {rule.severity.value:<8}{rule.rule_id:<34}{rule.count:>6} in {rule.records} records"
        )
        for hit in rule.hits[:SHOWN_PER_RULE]:
            where = hit.field + (f" (item {hit.item + 1})" if hit.item is not None else "")
            print(f"    episode {hit.episode_id}, {where}: {hit.message}")
        if len(rule.hits) > SHOWN_PER_RULE:
            print(f"    … and {len(rule.hits) - SHOWN_PER_RULE} more (--json lists them all)")
    if result.held_back:
        print(f"Held back for errors ({len(result.held_back)} records):")
        for held in result.held_back[:SHOWN_PER_RULE]:
            fields = ", ".join(dict.fromkeys(h.field for h in held.errors))
            client = f" (client {held.client})" if held.client else ""
            print(f"  episode {held.episode_id}{client}: {fields}")
        if len(result.held_back) > SHOWN_PER_RULE:
            print(f"  … and {len(result.held_back) - SHOWN_PER_RULE} more (--json lists them all)")


def _export(args: argparse.Namespace, refdata: RefData) -> int:
    period = _period(args.period)
    folder: Path = args.out
    if not folder.is_dir():
        raise UsageError(f"{folder}: there is no such folder; give an existing folder for the file")
    with open_store(args, refdata) as store:
        result = export(store, args.dataset, period, folder, include_errors=args.include_errors)
    print(f"Wrote {result.path}: {result.rows} rows, {result.episodes} episodes.")
    if result.held_back:
        print(
            f"  Held back for errors: {len(result.held_back)} episodes; see 'pathway check"
            f" --dataset {result.dataset} --period {result.period}' (or --include-errors)."
        )
    if result.left_out_no_consent:
        print(
            f"  Left out: {result.left_out_no_consent} episodes whose client has not consented"
            " to NDTMS (now)."
        )
    if result.undecided:
        print(
            f"  Not sent yet: {result.undecided} CJIT episodes waiting for the caseload"
            " decision."
        )
    if result.neutralised:
        print(
            f"  {result.neutralised} cells began with = + - @ or a tab and were written"
            " with a leading ' so that no spreadsheet runs them as formulas."
        )
    print(f"  SHA-256 {result.sha256}")
    if result.format_provisional:
        print("  Note: the file format settings are provisional (see [export] in the manifest).")
    return 0


def _exports(args: argparse.Namespace, refdata: RefData) -> int:
    store = open_store(args, refdata)
    try:
        records = history(store, args.dataset)
    finally:
        store.close(backup_reason=None)
    if not records:
        print("No exports yet.")
        return 0
    print(
        f"{'when':<18}{'by':<12}{'dataset':<10}{'month':<9}{'rows':>8}{'episodes':>10}"
        f"{'held back':>11}  {'SHA-256':<64}  file"
    )
    for r in records:
        print(
            f"{local_time(r.created_at):<18}{r.created_by[:11]:<12}{r.dataset:<10}{r.period:<9}"
            f"{r.rows:>8}{r.episodes:>10}{r.held_back:>11}  {r.sha256}  {r.file_name}"
        )
    return 0
