"""Store commands of ``pathway``: set up, users, passwords, import, backup, restore, checks, demo.

Every command runs without a prompt when given its options and environment:
``PATHWAY_PASSWORD`` (the user's password), ``PATHWAY_USER`` (the user name; defaults to
the only user), ``PATHWAY_NEW_PASSWORD`` (for ``passwd`` and ``users add``). Without them,
and on a terminal, the password is asked for and not echoed.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from desktop.cli.common import (
    UsageError,
    open_store,
    read_json,
    secret,
    store_arg,
    store_path,
    user_name,
)
from desktop.domain.datasets import KINDS
from desktop.domain.spec import RefData
from desktop.storage.demo import DEMO_PASSWORD, DEMO_USER
from desktop.storage.store import Store


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="set up a new encrypted store; the first user is a manager")
    store_arg(p)
    p.add_argument("--agency", required=True, help="this team's NDTMS agency code")
    p.add_argument("--type", required=True, choices=sorted(KINDS), dest="kind")
    p.add_argument("--dat", help="this CJIT's DAT, used for clients of no fixed abode")
    p.add_argument("--user", required=True, help="the first manager's user name")
    p.add_argument("--recovery-key", type=Path, help="an organisational recovery public key (PEM)")

    p = sub.add_parser("users", help="list, add or remove the users of a store")
    store_arg(p)
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    usub.add_parser("list", help="the users and their roles")
    add = usub.add_parser("add", help="add a user (password from PATHWAY_NEW_PASSWORD)")
    add.add_argument("name")
    add.add_argument("--role", choices=("worker", "manager"), default="worker")
    rem = usub.add_parser("remove", help="remove a user: their password no longer opens the store")
    rem.add_argument("name")

    p = sub.add_parser("passwd", help="change your password (or, as a manager, reset another's)")
    store_arg(p)
    p.add_argument("--for", dest="for_user", help="reset this user's password (managers only)")

    p = sub.add_parser("import", help="import records (validate JSON format), all or nothing")
    store_arg(p)
    p.add_argument("file", help="a JSON file with one record or a list of records")
    p.add_argument("--today", help="check as if today were YYYY-MM-DD")

    p = sub.add_parser("backup", help="make a checked, encrypted backup now")
    store_arg(p)
    p.add_argument("--list", action="store_true", help="list the checked backups instead")

    p = sub.add_parser("restore", help="put a backup back (the current store is kept first)")
    store_arg(p)
    p.add_argument("backup", type=Path, help="a .backup file")

    p = sub.add_parser("verify", help="check the store: encryption, structure, audit trail")
    store_arg(p)

    p = sub.add_parser("audit", help="the audit trail")
    store_arg(p)
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    asub.add_parser("verify", help="check that no audit event was removed or altered")

    p = sub.add_parser(
        "recovery-keys",
        help="make an organisational recovery key pair (keep the private one offline)",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the two PEM files")

    p = sub.add_parser(
        "recover", help="set a new password with the organisational recovery private key"
    )
    store_arg(p)
    p.add_argument("--private-key", type=Path, required=True, help="the recovery private key")
    p.add_argument("--user", required=True, help="whose password to set")

    p = sub.add_parser("demo", help="make a store of synthetic clients (user demo, password demo)")
    p.add_argument(
        "--store", type=Path, help="where (default: demo.store in your Pathway data folder)"
    )
    p.add_argument("--episodes", type=int, default=200, help="how many episodes (default 200)")
    p.add_argument("--type", choices=sorted(KINDS), default="cjit", dest="kind")
    p.add_argument("--seed", type=int, default=1)


def handlers() -> dict[str, Callable[[argparse.Namespace, RefData], int]]:
    return {
        "init": _init,
        "users": _users,
        "passwd": _passwd,
        "import": _import,
        "backup": _backup,
        "restore": _restore,
        "verify": _verify,
        "audit": _audit,
        "demo": _demo,
        "recovery-keys": _recovery_keys,
        "recover": _recover,
    }


def _init(args: argparse.Namespace, refdata: RefData) -> int:
    recovery = None
    if args.recovery_key is not None:
        try:
            recovery = args.recovery_key.read_bytes()
        except OSError as exc:
            raise UsageError(f"{args.recovery_key}: cannot read it ({exc.strerror})") from None
    password = secret("PATHWAY_PASSWORD", "New password: ", confirm=True)
    path = store_path(args)
    store = Store.create(
        path,
        agency=args.agency,
        kind=args.kind,
        dat=args.dat,
        user=args.user,
        password=password,
        refdata=refdata,
        recovery_public=recovery,
    )
    store.close(backup_reason="created")
    print(f"Store ready at {path} for {args.agency.upper()} ({args.kind}); manager {args.user}.")
    return 0


def _users(args: argparse.Namespace, refdata: RefData) -> int:
    with open_store(args, refdata) as store:
        if args.users_command == "add":
            password = secret("PATHWAY_NEW_PASSWORD", f"Password for {args.name}: ", confirm=True)
            info = store.users.add(args.name, password, args.role)
            print(f"Added {info.name} ({info.role}).")
        elif args.users_command == "remove":
            store.users.remove(args.name)
            print(f"Removed {args.name}; their password no longer opens this store.")
        else:
            for info in store.users.all():
                print(f"{info.name}\t{info.role}")
    return 0


def _passwd(args: argparse.Namespace, refdata: RefData) -> int:
    old = secret("PATHWAY_PASSWORD", "Current password: ")
    with Store.open(store_path(args), user_name(), old, refdata=refdata) as store:
        new = secret("PATHWAY_NEW_PASSWORD", "New password: ", confirm=True)
        if args.for_user:
            store.users.reset_password(args.for_user, new)
            print(f"New password set for {args.for_user}.")
        else:
            store.users.change_password(old, new)
            print("Your password is changed.")
    return 0


def _import(args: argparse.Namespace, refdata: RefData) -> int:
    data = read_json(args.file, stdin=False, not_done="; nothing was imported")
    records = data if isinstance(data, list) else [data]
    today = None
    if args.today:
        try:
            today = date.fromisoformat(args.today)
        except ValueError:
            raise UsageError(f"{args.today!r} is not a date (YYYY-MM-DD)") from None
    with open_store(args, refdata) as store:
        result = store.episodes.import_records(records, today=today)
    print(f"Imported {result.episodes} episodes ({result.warnings} warnings to look at).")
    return 0


def _backup(args: argparse.Namespace, refdata: RefData) -> int:
    from desktop.storage.backup import list_backups
    from desktop.storage.store import backups_folder

    path = store_path(args)
    if args.list:
        for info in list_backups(backups_folder(path), path.stem):
            print(f"{info.taken:%Y-%m-%d %H:%M:%S}\t{info.reason}\t{info.path}")
        return 0
    with open_store(args, refdata) as store:
        info = store.backups.backup("manual")
        print(f"Backup checked and kept: {info.path}")
        store.close(backup_reason=None)
    return 0


def _restore(args: argparse.Namespace, refdata: RefData) -> int:
    from desktop.storage.restore import restore

    path = store_path(args)
    password = secret("PATHWAY_PASSWORD", "Password (as it was when the backup was made): ")
    done = restore(args.backup, path, user_name(), password)
    kept = f"; the store it replaced is kept at {done.kept_as}" if done.kept_as else ""
    print(f"Restored {path} from {done.from_backup.name}{kept}.")
    return 0


def _verify(args: argparse.Namespace, refdata: RefData) -> int:
    with open_store(args, refdata) as store:
        problems = store.backups.integrity_problems()
        report = store.backups.verify_audit()
        counts = store.backups.counts()
        store.close(backup_reason=None)
    for problem in problems:
        print(f"damaged: {problem}")
    for problem in report.problems:
        print(f"audit trail: {problem}")
    print(
        f"{'OK' if not problems and report.ok else 'PROBLEMS FOUND'}: "
        f"{counts.get('episodes', 0)} episodes, {counts.get('clients', 0)} clients, "
        f"{report.events} audit events."
    )
    return 0 if not problems and report.ok else 1


def _audit(args: argparse.Namespace, refdata: RefData) -> int:
    with open_store(args, refdata) as store:
        report = store.backups.verify_audit()
        store.close(backup_reason=None)
    for problem in report.problems:
        print(f"audit trail: {problem}")
    print(f"{'OK' if report.ok else 'BROKEN'}: {report.events} events checked.")
    return 0 if report.ok else 1


def _recovery_keys(args: argparse.Namespace, refdata: RefData) -> int:
    from desktop.app.files import atomic_write_bytes
    from desktop.storage.keys import make_recovery_keypair

    out: Path = args.out
    private_file, public_file = out / "recovery.private.pem", out / "recovery.public.pem"
    if private_file.exists() or public_file.exists():
        raise UsageError(f"{out} already holds a recovery key; nothing was overwritten")
    private, public = make_recovery_keypair()
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(private_file, private)
        private_file.chmod(0o600)
        atomic_write_bytes(public_file, public)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write the keys ({exc.strerror})") from None
    print(f"Public key (give to 'pathway init --recovery-key'): {public_file}")
    print(f"Private key (keep offline, e.g. on an encrypted USB stick in a safe): {private_file}")
    return 0


def _recover(args: argparse.Namespace, refdata: RefData) -> int:
    try:
        private = args.private_key.read_bytes()
    except OSError as exc:
        raise UsageError(f"{args.private_key}: cannot read it ({exc.strerror})") from None
    new = secret("PATHWAY_NEW_PASSWORD", f"New password for {args.user}: ", confirm=True)
    store = Store.recover(store_path(args), private, args.user, new, refdata=refdata)
    store.close(backup_reason=None)
    print(f"New password set for {args.user} with the recovery key.")
    return 0


def _demo(args: argparse.Namespace, refdata: RefData) -> int:
    from desktop.app import paths
    from desktop.storage.demo import make_demo_store

    if args.episodes < 0:
        raise UsageError("--episodes must be 0 or more")
    path: Path = args.store or paths.data_dir() / "demo.store"
    started = time.perf_counter()
    make_demo_store(
        path,
        refdata,
        episodes=args.episodes,
        kind=args.kind,
        seed=args.seed,
        password=os.environ.get("PATHWAY_PASSWORD", DEMO_PASSWORD),
    )
    seconds = time.perf_counter() - started
    rate = args.episodes / seconds if seconds else 0.0
    print(
        f"Demo store ready at {path}: {args.episodes} synthetic episodes in {seconds:.1f} s"
        f" ({rate:.0f} a second). User {DEMO_USER}, password {DEMO_PASSWORD}."
    )
    return 0


__all__ = ["add_parsers", "handlers"]
