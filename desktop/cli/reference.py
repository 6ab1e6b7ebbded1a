"""Commands of ``pathway`` about the NDTMS rules and code lists: ``validate``, ``codes``,
``spec`` and ``refdata``. None of them opens a store.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from pathlib import Path

from desktop.cli.common import UsageError, print_json, read_json
from desktop.domain.datasets import DATASETS
from desktop.domain.record import Context
from desktop.domain.refdata import import_code_list
from desktop.domain.spec import DatasetSpec, RefData, Status
from desktop.domain.validation import Validator


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check records (JSON) against the NDTMS rules")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("--today", type=_iso_date, help="check as if today were YYYY-MM-DD")
    p.add_argument("--agency-dat", help="this team's own DAT (proxy for no fixed abode)")
    p.add_argument("file", help="a JSON file with one record or a list of records ('-' for stdin)")

    p = sub.add_parser("codes", help="the codes a field accepts (JSON)")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("field", help="an NDTMS CSV header, e.g. CJDISRSN")

    p = sub.add_parser("spec", help="the fields of a dataset, in order")
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("refdata", help="the code lists: list, check, or import an official list")
    rsub = p.add_subparsers(dest="refdata_command", metavar="ACTION", required=True)
    rsub.add_parser("list", help="every code list with its status and source")
    rsub.add_parser("check", help="load all reference data and report problems")
    imp = rsub.add_parser("import", help="replace a code list from a CSV or XLSX file")
    imp.add_argument("list", help="a list name (e.g. DRUG) or a field header (e.g. PARENT)")
    imp.add_argument("file", type=Path, help="CSV or XLSX with 'code' and 'label' columns")


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {"validate": _validate, "codes": _codes, "spec": _spec, "refdata": _refdata}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _provisional_lists(spec: DatasetSpec, refdata: RefData) -> list[str]:
    names = {cl.name for f in spec.fields for cl in refdata.lists_for(f) if cl.provisional}
    return sorted(names)


def _validate(args: argparse.Namespace, refdata: RefData) -> int:
    data = read_json(args.file)
    records = data if isinstance(data, list) else [data]
    validator = Validator(refdata, args.dataset)
    ctx = Context(today=args.today or date.today(), agency_dat=args.agency_dat)
    out = {
        "dataset": args.dataset,
        "provisional_lists": _provisional_lists(validator.spec, refdata),
        "records": [
            {"index": i, "findings": [f.as_json() for f in validator.validate(r, ctx)]}
            for i, r in enumerate(records)
        ],
    }
    print_json(out)
    return 0


def _field(args: argparse.Namespace, refdata: RefData) -> tuple[DatasetSpec, str]:
    spec = refdata.dataset(args.dataset)
    header = args.field.strip().upper()
    if header not in spec.by_header:
        raise UsageError(
            f"{header} is not a field of {spec.title}; see 'pathway spec --dataset {args.dataset}'"
        )
    return spec, header


def _codes(args: argparse.Namespace, refdata: RefData) -> int:
    spec, header = _field(args, refdata)
    field = spec.by_header[header]
    if not field.codes and header not in refdata.field_lists:
        raise UsageError(f"{header} is not a coded field (it takes a {field.type.value})")
    out = [
        {
            "code": code.code,
            "label": code.label,
            "provisional": code_list.provisional,
            "status": code_list.status.value,
            "list": code_list.name,
        }
        for code, code_list in refdata.codes_for(field)
    ]
    print_json(out)
    return 0


def _spec(args: argparse.Namespace, refdata: RefData) -> int:
    spec = refdata.dataset(args.dataset)
    rows = []
    for f in spec.fields:
        lists = refdata.lists_for(f)
        rows.append(
            {
                "header": f.header,
                "label": f.label,
                "section": f.section,
                "level": f.level.value,
                "type": f.type.value,
                "codes": [cl.name for cl in lists],
                "provisional": any(cl.provisional for cl in lists),
                "requirement": f.requirement.text,
                "may_change": f.may_change.value,
                "mismatch": f.mismatch,
                "help": f.help,
            }
        )
    if args.json:
        print_json({"dataset": spec.id, "version": spec.version, "fields": rows})
        return 0
    print(f"{spec.title}, business definitions v{spec.version}: {len(rows)} fields")
    print(f"{'#':>3}  {'HEADER':<13}{'TYPE':<13}{'REQUIRED':<26}{'CODES':<30}LABEL")
    for i, f in enumerate(spec.fields, start=1):
        lists = refdata.lists_for(f)
        provisional = " (provisional)" if any(cl.provisional for cl in lists) else ""
        codes = "+".join(cl.name for cl in lists) + provisional
        print(
            f"{i:>3}  {f.header:<13}{f.type.value:<13}{f.requirement.text:<26}{codes:<30}{f.label}"
        )
    return 0


def _refdata(args: argparse.Namespace, refdata: RefData) -> int:
    from desktop.app import paths

    if args.refdata_command == "check":
        print(
            f"Reference data loads: {len(refdata.datasets)} datasets, "
            f"{len(refdata.lists)} code lists."
        )
        provisional = sorted(n for n, cl in refdata.lists.items() if cl.provisional)
        print(f"Provisional lists (our own codes, to be replaced): {', '.join(provisional)}")
        return 1 if refdata.problems else 0
    if args.refdata_command == "list":
        for name in sorted(refdata.lists):
            cl = refdata.lists[name]
            mark = {Status.PROVISIONAL: "PROVISIONAL"}.get(cl.status, cl.status.value)
            partial = ", incomplete" if cl.partial else ""
            print(f"{name:<20}{mark:<13}{len(cl.codes):>4} codes{partial}  {cl.source}")
        return 0
    result = import_code_list(refdata, paths.overrides_dir(), args.list.strip().upper(), args.file)
    kind = "field" if result.for_field else "list"
    print(f"Imported {result.count} codes as {kind} {result.name}; it is used from now on.")
    if result.added:
        print(
            f"  new codes: {', '.join(result.added[:30])}{' …' if len(result.added) > 30 else ''}"
        )
    if result.removed:
        print(f"  codes no longer offered: {', '.join(result.removed[:30])}")
    if result.lost_tags:
        print(
            "  warning: no imported label matched these meanings, so the checks that use them "
            f"will not fire until the file has a 'tags' column: {', '.join(result.lost_tags)}"
        )
    return 0
