"""Commands of ``pathway`` for moving records between laptops without a network.

``keys make`` / ``keys show``: the store's bundle key (the private half stays inside the
encrypted store; the public half goes to ``DIR/public.key`` for those who send bundles).
``bundle export`` / ``bundle import``: a worker's changes, sealed for the manager's store,
and merged there. ``bundle list``, ``bundle conflicts`` and ``bundle resolve``: what came
in, and the fields two laptops changed differently. ``handover``: one client's record for
another team, only with the client's continuity-of-care consent.

The password comes from ``PATHWAY_PASSWORD`` (and the user from ``PATHWAY_USER``), as for
every store command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from desktop.cli.common import UsageError, local_time, open_store, print_json, store_arg
from desktop.domain.spec import RefData
from desktop.export import bundle
from desktop.storage import transfer
from desktop.storage.store import Store


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="this store's bundle key: make it, or show its fingerprint")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    make = ksub.add_parser("make", help="write this store's public key to DIR/public.key")
    store_arg(make)
    make.add_argument("--out", type=Path, required=True, help="a folder for public.key")
    show = ksub.add_parser("show", help="the fingerprint of this store's bundle key")
    store_arg(show)

    p = sub.add_parser("bundle", help="sealed team bundles: export, import, list, conflicts")
    bsub = p.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    exp = bsub.add_parser("export", help="seal what changed since the last bundle to that key")
    store_arg(exp)
    exp.add_argument("--to", type=Path, required=True, help="the manager's public.key")
    exp.add_argument("--out", type=Path, required=True, help="the bundle file to write")
    exp.add_argument(
        "--all", action="store_true", help="everything, not only changes (if a bundle was lost)"
    )
    imp = bsub.add_parser("import", help="merge a bundle (or open a handover) sealed for us")
    store_arg(imp)
    imp.add_argument("file", type=Path, help="a bundle file")
    lst = bsub.add_parser("list", help="bundles received from each laptop, and when")
    store_arg(lst)
    lst.add_argument("--json", action="store_true", help="print JSON")
    con = bsub.add_parser("conflicts", help="fields two laptops changed differently")
    store_arg(con)
    con.add_argument("--all", action="store_true", help="also those already decided")
    con.add_argument("--json", action="store_true", help="print JSON")
    res = bsub.add_parser("resolve", help="decide a conflict (managers only)")
    store_arg(res)
    res.add_argument("conflict", help="the conflict's id (its first characters are enough)")
    res.add_argument(
        "--keep",
        required=True,
        choices=("local", "incoming"),
        help="local: this store's value; incoming: the value from the bundle",
    )

    p = sub.add_parser(
        "handover", help="seal one client's record for another team (needs sharing consent)"
    )
    store_arg(p)
    p.add_argument("--client", required=True, help="the client reference (or client id)")
    p.add_argument("--to", type=Path, required=True, help="the receiving team's public.key")
    p.add_argument("--out", type=Path, required=True, help="the handover file to write")


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {"keys": _keys, "bundle": _bundle, "handover": _handover}


def _shown(value: object) -> str:
    if value is None or value == "":
        return "(blank)"
    return str(value)


def _keys(args: argparse.Namespace, refdata: RefData) -> int:
    with open_store(args, refdata) as store:
        if args.keys_command == "make":
            path = bundle.write_public_key(store, args.out)
            shown = bundle.store_fingerprint(store)
            store.close(backup_reason=None)
            assert shown is not None
            print(f"Public key written to {path}")
            print(f"Fingerprint: {transfer.show_fingerprint(shown)}")
            print("Give public.key to the workers (or team) who will send bundles here.")
            return 0
        shown = bundle.store_fingerprint(store)
        store.close(backup_reason=None)
    if shown is None:
        raise UsageError("this store has no bundle key yet; make one with 'pathway keys make'")
    print(f"Fingerprint: {transfer.show_fingerprint(shown)}")
    print(f"Full: {shown}")
    return 0


def _bundle(args: argparse.Namespace, refdata: RefData) -> int:
    command = args.bundle_command
    with open_store(args, refdata) as store:
        if command == "export":
            made = bundle.export_team(store, args.to, args.out, full=args.all)
            print(made.describe())
        elif command == "import":
            result = bundle.import_bundle(store, args.file)
            print(result.describe())
        elif command == "list":
            _list(store, args.json)
            store.close(backup_reason=None)  # nothing changed: no backup needed
        elif command == "conflicts":
            _conflicts(store, args.all, args.json)
            store.close(backup_reason=None)
        else:
            view = transfer.resolve(store, args.conflict, args.keep)
            kept = view.local if args.keep == "local" else view.incoming
            print(
                f"Kept {_shown(kept.value)} for {view.label} ({view.record}), as {kept.who} had it."
            )
    return 0


def _list(store: Store, as_json: bool) -> None:
    found = transfer.sources(store)
    received = transfer.bundles(store)
    if as_json:
        out = {
            "sources": [
                {
                    "store": r.store_id,
                    "agency": r.agency,
                    "sent_by": r.sender_user,
                    "bundles": r.bundles,
                    "last_imported": r.last_at.isoformat(),
                    "audit_events": r.events,
                    "audit_ok": r.ok,
                    "audit_problems": list(r.problems),
                }
                for r in found
            ],
            "bundles": [
                {
                    "id": b.id,
                    "kind": b.kind,
                    "from_store": b.peer_store,
                    "agency": b.peer_agency,
                    "sent_by": b.sender_user,
                    "sequence": b.sequence,
                    "sealed_at": b.sealed_at.isoformat(),
                    "imported_at": b.at.isoformat(),
                    "counts": b.counts,
                }
                for b in received
            ],
        }
        print_json(out)
        return
    if not received:
        print("No bundles have been imported into this store.")
        return
    for r in found:
        trail = "audit trail verified" if r.ok else "AUDIT TRAIL PROBLEMS: " + "; ".join(r.problems)
        print(
            f"{r.sender_user or 'a laptop'} ({r.agency}, store {r.store_id[:8]}):"
            f" {r.bundles} bundles, last imported {local_time(r.last_at)}; {trail}"
        )
    print()
    print("Imported\tSealed\tKind\tFrom\tNo.\tNew episodes\tUpdated\tConflicts")
    for b in received:
        print(
            f"{local_time(b.at)}\t{local_time(b.sealed_at)}\t{b.kind}\t"
            f"{b.sender_user or '?'} ({b.peer_agency})\t{b.sequence}\t"
            f"{b.counts.get('episodes_added', b.counts.get('episodes', 0))}\t"
            f"{b.counts.get('records_changed', 0)}\t{b.counts.get('conflicts', 0)}"
        )


def _conflicts(store: Store, include_decided: bool, as_json: bool) -> None:
    found = transfer.conflicts(store, include_decided=include_decided)
    if as_json:
        out = [
            {
                "id": c.id,
                "record": c.record,
                "field": c.field,
                "label": c.label,
                "status": c.status,
                "shown_now": c.applied,
                "local": {
                    "value": c.local.value,
                    "by": c.local.who,
                    "on": c.local.where,
                    "at": c.local.at.isoformat() if c.local.at else None,
                },
                "incoming": {
                    "value": c.incoming.value,
                    "by": c.incoming.who,
                    "on": c.incoming.where,
                    "at": c.incoming.at.isoformat() if c.incoming.at else None,
                },
            }
            for c in found
        ]
        print_json(out)
        return
    if not found:
        print("No conflicts to decide.")
        return
    for c in found:
        mark = "" if c.status == "open" else f" [decided: kept {c.status}]"
        print(f"{c.id[:8]}  {c.record}: {c.label} ({c.field}){mark}")
        for side, name in ((c.local, "local"), (c.incoming, "incoming")):
            now = " <- shown now" if c.applied == name and c.status == "open" else ""
            print(
                f"    {name:<9}{_shown(side.value)!s:<20} by {side.who} on {side.where},"
                f" {local_time(side.at)}{now}"
            )
    if any(c.status == "open" for c in found):
        print("Decide with: pathway bundle resolve ID --keep local|incoming")


def _handover(args: argparse.Namespace, refdata: RefData) -> int:
    with open_store(args, refdata) as store:
        made = bundle.export_handover(store, args.client, args.to, args.out)
    print(made.describe())
    return 0


__all__ = ["add_parsers", "handlers"]
