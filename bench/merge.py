"""Merging three laptops of 10,000 episodes each into a manager's store: time and memory.

1. Three worker demo stores (``python -m desktop demo``, seeds 1-3) and an empty manager
   store of the same team. Each worker seals a complete team bundle for the manager's key
   (``desktop.export.bundle.export_team``); the seal time and file size are shown.
2. The merge, in a child process on the unlocked manager store: each bundle is opened
   (read, checked, decrypted, decompressed, parsed) and merged (``transfer.merge_team``:
   every field compared, derived columns worked out again by validating each episode,
   one audit event per record, the sender's audit events copied), one transaction each.
   The child reports its peak resident memory (``ru_maxrss``).
3. The floor, measured in the same run on the same rows: a bare keyed ``sqlcipher3``
   connection to a copy of the empty manager store that inserts the same users, clients,
   episodes, referrals and consent events (fields JSON-encoded, one transaction per
   bundle), after the bundles were opened outside the timing. Run before and after the
   merge; the faster run counts. The ratio compares the merge alone with it.

Everything happens in a temporary folder; a few minutes on a 2-core laptop.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER = PASSWORD = "demo"
TARGET_RATIO = 10.0  # merge (field by field, one audit event per record) vs bare inserts


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------- children


def child_seal(store: Path, key: Path, out: Path) -> dict[str, Any]:
    from desktop.app import paths
    from desktop.export.bundle import export_team
    from desktop.storage.store import Store

    opened = Store.open(store, USER, PASSWORD, refdata=paths.load())
    try:
        began = time.perf_counter()
        made = export_team(opened, key, out, full=True)
        seconds = time.perf_counter() - began
    finally:
        opened.close(backup_reason=None)
    return {
        "seconds": seconds,
        "episodes": made.counts["episodes"],
        "bytes": out.stat().st_size,
        "maxrss_mb": _maxrss_mb(),
    }


def child_merge(store: Path, bundles: list[Path]) -> dict[str, Any]:
    from desktop.app import paths
    from desktop.export.bundle import open_file
    from desktop.storage.store import Store
    from desktop.storage.transfer import merge_team, sources

    opened = Store.open(store, USER, PASSWORD, refdata=paths.load())
    try:
        rss_open = _maxrss_mb()
        steps = []
        for path in bundles:
            began = time.perf_counter()
            header, payload = open_file(opened, path)
            read = time.perf_counter() - began
            began = time.perf_counter()
            result = merge_team(opened, header.arrival, payload)
            merged = time.perf_counter() - began
            del payload
            steps.append({"open_s": read, "merge_s": merged, "episodes": result.episodes_added})
        episodes = opened.caseload.count()
        audit_ok = opened.backups.verify_audit().ok
        chains_ok = all(r.ok for r in sources(opened))
    finally:
        opened.close(backup_reason=None)
    return {
        "steps": steps,
        "episodes": episodes,
        "audit_ok": audit_ok,
        "chains_ok": chains_ok,
        "rss_open_mb": rss_open,
        "maxrss_mb": _maxrss_mb(),
    }


def child_floor(store: Path, bundles: list[Path]) -> dict[str, Any]:
    import base64

    from desktop.export.bundle import open_sealed
    from desktop.storage.engine import raw_connect
    from desktop.storage.keys import read_keyfile, unwrap_key, zero
    from desktop.storage.store import keys_path

    key, _wrap = unwrap_key(read_keyfile(keys_path(store)), USER, PASSWORD)
    conn = raw_connect(store, key)
    zero(key)
    private = base64.b64decode(
        conn.execute("SELECT value FROM settings WHERE key = 'bundle_key'").fetchone()[0]
    )
    payloads = [open_sealed(path.read_bytes(), private)[1] for path in bundles]
    dumps = json.dumps
    stamp = "2026-11-25 12:00:00.000000"
    seconds = 0.0
    episodes = 0
    for payload in payloads:
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR IGNORE INTO users (id, name, role, created_at, removed_at)"
            " VALUES (?,?,?,?,?)",
            [(u["id"], u["name"] + u["id"][:6], u["role"], stamp, stamp) for u in payload["users"]],
        )
        conn.executemany(
            "INSERT INTO clients (id, fields, name, notes, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?)",
            [
                (c["id"], dumps(c["values"], sort_keys=True), None, None, stamp, stamp)
                for c in payload["clients"]
            ],
        )
        conn.executemany(
            "INSERT INTO episodes (id, client_id, dataset, fields, notes, owner_id,"
            " last_contact, created_at, updated_at, state, errors, warnings, version)"
            " VALUES (?,?,?,?,?,?,?,?,?,'',0,0,1)",
            [
                (
                    e["id"], e["client_id"], e["dataset"], dumps(e["values"], sort_keys=True),
                    None, e["owner_id"], e["last_contact"], stamp, stamp,
                )
                for e in payload["episodes"]
            ],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO referrals (id, episode_id, position, fields) VALUES (?,?,?,?)",
            [
                (i["id"], i["episode_id"], i["position"], dumps(i["values"], sort_keys=True))
                for i in payload["items"]
            ],
        )
        conn.executemany(
            "INSERT INTO consent_events (id, client_id, episode_id, kind, value, agencies,"
            " recorded_on, recorded_by, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    c["id"], c["client_id"], c["episode_id"], c["kind"], c["value"],
                    c["agencies"], c["recorded_on"], c["recorded_by"], c["recorded_at"],
                )
                for c in payload["consents"]
            ],
        )  # fmt: skip
        conn.execute("COMMIT")
        seconds += time.perf_counter() - began
        episodes += len(payload["episodes"])
    conn.close()
    return {"seconds": seconds, "episodes": episodes, "maxrss_mb": _maxrss_mb()}


# ---------------------------------------------------------------------- parent


def _child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _demo(path: Path, episodes: int, seed: int) -> float:
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "demo", "--episodes", str(episodes),
         "--seed", str(seed), "--store", str(path)],
        cwd=ROOT,
        env={**os.environ, "PATHWAY_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr.strip()}")
    return time.perf_counter() - began


def _copy_store(source: Path, target: Path) -> None:
    from desktop.storage.store import keys_path

    shutil.copyfile(source, target)
    shutil.copyfile(keys_path(source), keys_path(target))


def run(tmp: Path, episodes: int, laptops: int) -> dict[str, Any]:
    from desktop.app import paths
    from desktop.export.bundle import write_public_key
    from desktop.storage.store import Store

    manager = tmp / "manager.store"
    _demo(manager, 0, 99)
    with Store.open(manager, USER, PASSWORD, refdata=paths.load()) as opened:
        key = write_public_key(opened, tmp / "manager-key")
        opened.close(backup_reason=None)
    floor_store = tmp / "floor.store"
    _copy_store(manager, floor_store)
    demo_s = []
    seals = []
    bundles = []
    for n in range(1, laptops + 1):
        worker = tmp / f"worker{n}.store"
        demo_s.append(_demo(worker, episodes, n))
        out = tmp / f"worker{n}.pwbundle"
        seals.append(_child("seal", str(worker), str(key), str(out)))
        bundles.append(str(out))
    floors = [_child("floor", str(floor_store), *bundles)]
    _copy_store(manager, floor_store)
    merged = _child("merge", str(manager), *bundles)
    floors.append(_child("floor", str(floor_store), *bundles))
    floor = min(floors, key=lambda f: f["seconds"])
    merge_s = sum(s["merge_s"] for s in merged["steps"])
    open_s = sum(s["open_s"] for s in merged["steps"])
    if merged["episodes"] != laptops * episodes or floor["episodes"] != laptops * episodes:
        raise SystemExit(
            f"expected {laptops * episodes} episodes; merged {merged['episodes']},"
            f" floor {floor['episodes']}"
        )
    return {
        "episodes": episodes,
        "laptops": laptops,
        "demo_s": demo_s,
        "seals": seals,
        "merge": merged,
        "merge_s": merge_s,
        "open_s": open_s,
        "floors": floors,
        "floor": floor,
        "ratio": merge_s / floor["seconds"],
    }


def report(r: dict[str, Any]) -> bool:
    total = r["episodes"] * r["laptops"]
    m, f = r["merge"], r["floor"]
    print(f"merge: {r['laptops']} laptops x {r['episodes']:,} episodes into one manager's store")
    for n, seal in enumerate(r["seals"], start=1):
        print(
            f"  laptop {n}: demo store {r['demo_s'][n - 1]:5.1f} s; sealed {seal['episodes']:,}"
            f" episodes in {seal['seconds']:5.2f} s, {seal['bytes'] / 2**20:5.1f} MB,"
            f" RSS {seal['maxrss_mb']:.0f} MB"
        )
    for n, step in enumerate(m["steps"], start=1):
        print(
            f"  bundle {n}: open {step['open_s']:5.2f} s, merge {step['merge_s']:6.2f} s"
            f" ({step['merge_s'] / max(step['episodes'], 1) * 1e6:5.0f} µs/episode)"
        )
    ok = bool(r["ratio"] <= TARGET_RATIO) and m["audit_ok"] and m["chains_ok"]
    print(
        f"  merge {r['merge_s']:.2f} s (+ open {r['open_s']:.2f} s) for {total:,} episodes;"
        f" floor (bare sqlcipher3 inserts) {f['seconds']:.2f} s; ratio {r['ratio']:.1f}x"
        f" (target <= {TARGET_RATIO:g}x)"
    )
    print(
        f"  peak memory: merge child {m['maxrss_mb']:.0f} MB RSS ({m['rss_open_mb']:.0f} MB"
        f" after unlock); floor child {f['maxrss_mb']:.0f} MB"
    )
    print(
        f"  manager store: {m['episodes']:,} episodes; audit trail"
        f" {'verified' if m['audit_ok'] else 'BROKEN'}; laptops' chains"
        f" {'verified' if m['chains_ok'] else 'BROKEN'}: {'ok' if ok else 'OVER TARGET'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes per laptop")
    parser.add_argument("--laptops", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "seal":
            out = child_seal(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        elif kind == "merge":
            out = child_merge(Path(rest[0]), [Path(p) for p in rest[1:]])
        else:
            out = child_floor(Path(rest[0]), [Path(p) for p in rest[1:]])
        print(json.dumps(out))
        return 0
    if args.episodes < 1 or args.laptops < 1:
        parser.error("--episodes and --laptops must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="pathway-bench-") as name:
        tmp = Path(name)
        os.environ["PATHWAY_DATA_DIR"] = str(tmp)
        result = run(tmp, args.episodes, args.laptops)
    ok = report(result)
    from bench.report import emit, figure

    total = args.episodes * args.laptops
    emit("merge", f"{args.laptops} laptops x {args.episodes:,} episodes merged", [
        figure(f"merge of {total:,} episodes", result["merge_s"], "s",
               floor=result["floor"]["seconds"], floor_is="bare sqlcipher3 inserts",
               target=f"<= {TARGET_RATIO:g}x floor", met=bool(result["ratio"] <= TARGET_RATIO)),
        figure("open the bundles (decrypt, parse)", result["open_s"], "s"),
        figure("merge peak memory", result["merge"]["maxrss_mb"], "MB",
               floor=result["floor"]["maxrss_mb"], floor_is="bare inserts"),
    ])  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
