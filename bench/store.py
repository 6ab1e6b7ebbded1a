"""Encrypted store speed: durable saves, unlocking, and a large demo store.

1. Durable save of a complete CJIT episode (new, then an update of one field): median and
   p99 of ``store.episodes.save``, against a floor measured in the same run on the same
   rows: a bare keyed ``sqlcipher3`` connection (same pragmas, same schema, in a second
   store file) that writes exactly the rows the store wrote for that save (client,
   episode, referrals, consent event, audit events, audit head) in one ``BEGIN
   IMMEDIATE`` ... ``COMMIT``, from values prepared beforehand. Saves alternate with
   floor commits so that both see the same disk. Target: save p99 <= 2x the bare commit.
2. Unlocking: ``Store.open`` (Argon2id unwrap, quick_check, unlock audit event) and the
   Argon2id derivation alone. Target: 0.1 to 1 s.
3. A demo store of ``--episodes`` synthetic episodes made with ``python -m desktop demo``:
   episodes a second, size, the integrity checks (targets at 50,000 episodes:
   quick_check <= 1 s, cipher_integrity_check <= 2 s), a backup and the caseload.

Everything happens in a temporary folder. Set PATHWAY_BENCH_JSON=path to also write
every figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event
from sqlalchemy.pool import Pool

from bench.report import emit, figure
from desktop.app import paths
from desktop.domain.summary import summarise
from desktop.domain.synthetic import records
from desktop.storage.engine import raw_connect
from desktop.storage.keys import read_keyfile, unwrap_key, zero
from desktop.storage.store import CaseloadQuery, Store, keys_path

USER, PASSWORD = "amy", "correct horse battery staple"
WARMUP = 10
COUNTED = 20  # extra saves, untimed, whose SQL statements are counted
TARGET_SAVE_RATIO = 2.0
TARGET_UNLOCK = (0.1, 1.0)
TARGET_QUICK_50K, TARGET_CIPHER_50K = 1.0, 2.0
UNLOCK_RUNS = 5

Statement = tuple[str, tuple[object, ...]]
T = TypeVar("T")


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return float(ordered[index])


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:6.3f} s"


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# ---------------------------------------------------------------------- the floor


def _fetch(conn: Any, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, object]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _insert(table: str, row: dict[str, object]) -> Statement:
    cols = list(row)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    return sql, tuple(row[c] for c in cols)


def _update(table: str, row: dict[str, object]) -> Statement:
    cols = [c for c in row if c != "id"]
    sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?"
    return sql, (*(row[c] for c in cols), row["id"])


HEAD_SQL = (
    "INSERT INTO settings (key, value) VALUES ('audit_head', ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


class Capture:
    """Reads back, from the store file, the rows one save wrote; turns them into the
    statements the floor runs on its own file (user ids swapped for the floor's user)."""

    def __init__(self, reader: Any, floor_user: str) -> None:
        self.reader = reader
        self.floor_user = floor_user
        self.last_seq = self.max_seq()

    def max_seq(self) -> int:
        return int(
            self.reader.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
        )

    def _own(self, row: dict[str, object]) -> dict[str, object]:
        for col in ("owner_id", "recorded_by", "user_id"):
            if row.get(col) is not None:
                row[col] = self.floor_user
        return row

    def save(
        self, client_id: str, episode_id: str, *, new: bool
    ) -> tuple[list[Statement], Counter[str]]:
        r = self.reader
        client = _fetch(r, "SELECT * FROM clients WHERE id = ?", (client_id,))
        episode = [
            self._own(e) for e in _fetch(r, "SELECT * FROM episodes WHERE id = ?", (episode_id,))
        ]
        events = _fetch(
            r, "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq", (self.last_seq,)
        )
        self.last_seq = max([self.last_seq, *(int(str(e["seq"])) for e in events)])
        rows: Counter[str] = Counter(clients=len(client), episodes=len(episode))
        stmts: list[Statement] = []
        if new:
            referrals = _fetch(
                r, "SELECT * FROM referrals WHERE episode_id = ? ORDER BY position", (episode_id,)
            )
            consents = [
                self._own(c)
                for c in _fetch(
                    r, "SELECT * FROM consent_events WHERE episode_id = ?", (episode_id,)
                )
            ]
            stmts += [_insert("clients", c) for c in client]
            stmts += [_insert("episodes", e) for e in episode]
            stmts += [_insert("referrals", x) for x in referrals]
            stmts += [_insert("consent_events", c) for c in consents]
            rows.update(referrals=len(referrals), consent_events=len(consents))
        else:
            # An update of one episode field: the store rewrites the client and episode rows.
            stmts += [_update("clients", c) for c in client]
            stmts += [_update("episodes", e) for e in episode]
        for e in events:
            row = self._own({k: v for k, v in e.items() if k != "seq"})
            stmts.append(_insert("audit_events", row))
        rows.update(audit_events=len(events))
        if events:
            stmts.append((HEAD_SQL, (f"{events[-1]['seq']}:{events[-1]['hash']}",)))
            rows.update(settings=1)
        return stmts, rows


def _bare_commit(conn: Any, stmts: list[Statement]) -> float:
    start = time.perf_counter_ns()
    conn.execute("BEGIN IMMEDIATE")
    for sql, params in stmts:
        conn.execute(sql, params)
    conn.execute("COMMIT")
    return (time.perf_counter_ns() - start) / 1e9


@contextmanager
def _statement_counter() -> Iterator[Counter[str]]:
    """Counts, by verb, every statement SQLite runs on pooled connections while active
    (traced in the driver, so ORM, Core and raw statements all count, executemany per row)."""
    counts: Counter[str] = Counter()

    def trace(sql: str) -> None:
        counts[sql.lstrip().split(None, 1)[0].upper()] += 1

    def on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        dbapi_conn.set_trace_callback(trace)

    def on_checkin(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:
            dbapi_conn.set_trace_callback(None)

    event.listen(Pool, "checkout", on_checkout)
    event.listen(Pool, "checkin", on_checkin)
    try:
        yield counts
    finally:
        event.remove(Pool, "checkout", on_checkout)
        event.remove(Pool, "checkin", on_checkin)


# ---------------------------------------------------------------------- 1. saves


def _key(path: Path, user: str, password: str) -> bytearray:
    key, _wrap = unwrap_key(read_keyfile(keys_path(path)), user, password)
    return key


def _new_records(refdata: Any, count: int) -> list[dict[str, object]]:
    out = []
    for rec in records(refdata, "cjit-q", count, seed=7):
        rec.pop("CLIENTID", None)
        rec.pop("EPISODID", None)
        referrals = rec.get("referrals")
        for ref in referrals if isinstance(referrals, list) else []:
            ref.pop("REFERID", None)  # new referrals get random ids, as in the window
        out.append(rec)
    return out


def _changed(raw: dict[str, object]) -> dict[str, object]:
    out = dict(raw)
    units = out.get("ALCUNITS")
    out["ALCUNITS"] = (units + 1) if isinstance(units, int) else 1
    return out


def _summary(times: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(times), "p99_s": _percentile(times, 99)}


def bench_saves(tmp: Path, refdata: Any, saves: int) -> dict[str, Any]:
    main_path, floor_path = tmp / "saves.store", tmp / "floor.store"
    floor_store = Store.create(
        floor_path,
        agency="CJ123",
        kind="cjit",
        user=USER,
        password=PASSWORD,
        refdata=refdata,
        dat="A12B",
    )
    floor_store.close(backup_reason=None)
    store = Store.create(
        main_path,
        agency="CJ123",
        kind="cjit",
        user=USER,
        password=PASSWORD,
        refdata=refdata,
        dat="A12B",
    )
    keys = [_key(floor_path, USER, PASSWORD), _key(main_path, USER, PASSWORD)]
    floor = raw_connect(floor_path, keys[0])
    reader = raw_connect(main_path, keys[1])
    for k in keys:
        zero(k)
    floor_user = str(floor.execute("SELECT id FROM users").fetchone()[0])
    capture = Capture(reader, floor_user)
    recs = _new_records(refdata, WARMUP + saves + COUNTED)
    result: dict[str, Any] = {"saves": saves}
    try:
        saved: list[tuple[str, str]] = []
        for phase in ("new", "update"):
            store_t: list[float] = []
            bare_t: list[float] = []
            row_totals: list[int] = []
            per_table: Counter[str] = Counter()
            if phase == "new":
                work = recs[: WARMUP + saves]
            else:
                # The stored episodes as the window would load them (ids filled), one field changed.
                work = [_changed(store.episodes.load(eid).raw) for _cid, eid in saved]
            for i, raw in enumerate(work):
                t, s = _timed(partial(store.episodes.save, raw))
                if phase == "new":
                    saved.append((s.client_id, s.episode_id))
                elif s.version != 2:
                    raise SystemExit(f"update made version {s.version}, not 2: not an update")
                stmts, rows = capture.save(s.client_id, s.episode_id, new=phase == "new")
                b = _bare_commit(floor, stmts)
                if i >= WARMUP:
                    store_t.append(t)
                    bare_t.append(b)
                    row_totals.append(sum(rows.values()))
                    per_table.update(rows)
            extra = (
                recs[WARMUP + saves :]
                if phase == "new"
                else [_changed(store.episodes.load(eid).raw) for _cid, eid in saved[:COUNTED]]
            )
            with _statement_counter() as counts:
                for raw in extra:
                    store.episodes.save(raw)
            n_extra = len(extra)
            validate_t = []
            for raw in work[WARMUP:]:
                start = time.perf_counter()
                rec = store.episodes.prepare(raw, "cjit-q")
                summarise(store.validator("cjit-q"), refdata, rec, store.context())
                validate_t.append(time.perf_counter() - start)
            capture.last_seq = capture.max_seq()
            n = len(store_t)
            result[phase] = {
                "store": _summary(store_t),
                "bare": _summary(bare_t),
                "ratio_median": statistics.median(store_t) / statistics.median(bare_t),
                "ratio_p99": _percentile(store_t, 99) / _percentile(bare_t, 99),
                "rows_per_save": {
                    "mean": sum(row_totals) / n,
                    "min": min(row_totals),
                    "max": max(row_totals),
                    "by_table": {k: v / n for k, v in sorted(per_table.items())},
                },
                "validate_median_s": statistics.median(validate_t),
                "store_statements_per_save": {k: v / n_extra for k, v in sorted(counts.items())},
            }
        result["store_mb"] = main_path.stat().st_size / 1e6
    finally:
        reader.close()
        floor.close()
        store.close(backup_reason=None)
    return result


# ---------------------------------------------------------------------- 2. unlocking


def bench_unlock(path: Path, refdata: Any) -> dict[str, Any]:
    opens, closes, both = [], [], []
    for _ in range(UNLOCK_RUNS):
        t_open, store = _timed(lambda: Store.open(path, USER, PASSWORD, refdata=refdata))
        t_close, _ = _timed(partial(store.close, backup_reason=None))
        opens.append(t_open)
        closes.append(t_close)
        both.append(t_open + t_close)
    keyfile = read_keyfile(keys_path(path))
    walls, cpus = [], []
    for _ in range(UNLOCK_RUNS):
        w0, c0 = time.perf_counter(), time.process_time()
        key, _wrap = unwrap_key(keyfile, USER, PASSWORD)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        zero(key)
    kdf = keyfile.find(USER).kdf  # type: ignore[union-attr]
    argon_wall, argon_cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "open_median_s": statistics.median(opens),
        "close_median_s": statistics.median(closes),
        "open_close_median_s": statistics.median(both),
        "argon2id_median_s": argon_wall,
        "argon2id_cpu_median_s": argon_cpu,
        "argon2id_params": {
            "memory_kib": kdf.memory_kib,
            "iterations": kdf.iterations,
            "lanes": kdf.lanes,
        },
        "guesses_per_s_per_core": 1 / argon_wall,
        "guesses_per_cpu_s": 1 / argon_cpu if argon_cpu else None,
    }


# ---------------------------------------------------------------------- 3. demo store


def bench_demo(tmp: Path, refdata: Any, episodes: int) -> dict[str, Any]:
    path = tmp / "demo.store"
    env = {**os.environ, "PATHWAY_PASSWORD": "demo"}
    cmd = [
        sys.executable,
        "-m",
        "desktop",
        "demo",
        "--episodes",
        str(episodes),
        "--store",
        str(path),
    ]
    t_demo, proc = _timed(
        lambda: subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    )
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr.strip()}")
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    out: dict[str, Any] = {
        "episodes": episodes,
        "demo_s": t_demo,
        "episodes_per_s": episodes / t_demo,
        "store_mb": size / 1e6,
    }
    key = _key(path, "demo", "demo")
    conn = raw_connect(path, key)
    zero(key)
    try:
        t_quick, quick = _timed(lambda: conn.execute("PRAGMA quick_check").fetchall())
        t_cipher, cipher = _timed(lambda: conn.execute("PRAGMA cipher_integrity_check").fetchall())
    finally:
        conn.close()
    out["quick_check_s"], out["cipher_integrity_check_s"] = t_quick, t_cipher
    out["checks_clean"] = [str(r[0]) for r in quick] == ["ok"] and not cipher
    out["open_s"], store = _timed(lambda: Store.open(path, "demo", "demo", refdata=refdata))
    try:
        out["integrity_problems_s"], problems = _timed(store.backups.integrity_problems)
        out["integrity_problems"] = problems
        out["backup_s"], info = _timed(store.backups.backup)
        out["backup_mb"] = info.path.stat().st_size / 1e6
        query = CaseloadQuery(limit=50)
        pages, counts = [], []
        for _ in range(UNLOCK_RUNS):
            t, page = _timed(lambda: store.caseload.page(query))
            pages.append(t)
            t, total = _timed(lambda: store.caseload.count(query))
            counts.append(t)
        out["caseload_page_first_s"], out["caseload_page_median_s"] = (
            pages[0],
            statistics.median(pages),
        )
        out["count_caseload_first_s"], out["count_caseload_median_s"] = (
            counts[0],
            statistics.median(counts),
        )
        out["caseload_rows"], out["caseload_total"] = len(page), total
    finally:
        store.close(backup_reason=None)
    return out


# ---------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def report_saves(saves: dict[str, Any]) -> bool:
    ok = True
    print(f"store: {saves['saves']} durable saves of complete CJIT episodes (+{WARMUP} warm-up)")
    print(
        "  save           store median      p99 | bare median      p99 | ratio median   p99"
        f" | target p99 <= {TARGET_SAVE_RATIO:.0f}x bare"
    )
    for phase, label in (("new", "new episode"), ("update", "update 1 field")):
        r = saves[phase]
        good = bool(r["ratio_p99"] <= TARGET_SAVE_RATIO)
        ok &= good
        print(
            f"  {label:<14} {_ms(r['store']['median_s'])} {_ms(r['store']['p99_s'])}"
            f" | {_ms(r['bare']['median_s'])} {_ms(r['bare']['p99_s'])}"
            f" | {r['ratio_median']:10.1f}x {r['ratio_p99']:4.1f}x | {_verdict(good)}"
        )
    for phase, label in (("new", "new episode"), ("update", "update 1 field")):
        rows = saves[phase]["rows_per_save"]
        tables = ", ".join(f"{k} {v:.2g}" for k, v in rows["by_table"].items())
        stmts = saves[phase]["store_statements_per_save"]
        verbs = ", ".join(f"{k} {v:.3g}" for k, v in stmts.items())
        print(
            f"  rows written per save ({label}): {rows['mean']:.1f} "
            f"(min {rows['min']}, max {rows['max']}): {tables}"
        )
        print(
            f"    of the store's time, prepare + validate + summary: "
            f"{saves[phase]['validate_median_s'] * 1e3:.2f} ms median"
        )
        print(f"    store SQL statements per save: {sum(stmts.values()):.1f} ({verbs})")
    print(
        f"  target: save p99 <= {TARGET_SAVE_RATIO:.0f}x the bare commit "
        f"(bare = same rows, same pragmas and schema, raw sqlcipher3, one transaction)"
    )
    return ok


def report_unlock(unlock: dict[str, Any]) -> bool:
    lo, hi = TARGET_UNLOCK
    good = bool(lo <= unlock["open_median_s"] <= hi)
    p = unlock["argon2id_params"]
    print(f"unlock: median of {UNLOCK_RUNS}")
    print(
        f"  Store.open           {_s(unlock['open_median_s'])} "
        f"| target {lo:g}–{hi:g} s: {_verdict(good)}"
    )
    print(
        f"  close (no backup)    {_s(unlock['close_median_s'])}"
        f"   open + close {_s(unlock['open_close_median_s'])}"
    )
    print(
        f"  Argon2id unwrap_key  {_s(unlock['argon2id_median_s'])} wall, "
        f"{_s(unlock['argon2id_cpu_median_s'])} CPU "
        f"(m={p['memory_kib']} KiB, t={p['iterations']}, p={p['lanes']}) "
        f"-> {unlock['guesses_per_s_per_core']:.1f} guesses/s/core (1/t), "
        f"{unlock['guesses_per_cpu_s']:.1f} per CPU-second"
    )
    return good


def report_demo(d: dict[str, Any]) -> bool:
    scale = 50_000 / d["episodes"] if d["episodes"] else 0.0
    q50, c50 = d["quick_check_s"] * scale, d["cipher_integrity_check_s"] * scale
    good_q, good_c = q50 <= TARGET_QUICK_50K, c50 <= TARGET_CIPHER_50K
    ok = good_q and good_c and d["checks_clean"] and not d["integrity_problems"]
    print(f"demo: python -m desktop demo --episodes {d['episodes']} (includes its closing backup)")
    print(
        f"  demo                   {_s(d['demo_s'])}  {d['episodes_per_s']:8.0f} episodes/s"
        f"  store {d['store_mb']:.1f} MB"
    )
    print(
        f"  quick_check            {_s(d['quick_check_s'])}  (~{q50:.2f} s at 50k, "
        f"target <= {TARGET_QUICK_50K:g} s: {_verdict(good_q)})"
    )
    print(
        f"  cipher_integrity_check {_s(d['cipher_integrity_check_s'])}  (~{c50:.2f} s at 50k, "
        f"target <= {TARGET_CIPHER_50K:g} s: {_verdict(good_c)})"
    )
    print(
        f"  integrity_problems()   {_s(d['integrity_problems_s'])}  "
        f"({'clean' if not d['integrity_problems'] else d['integrity_problems'][:3]})"
    )
    print(f"  Store.open             {_s(d['open_s'])}  (Argon2id + quick_check + unlock event)")
    print(f"  backup()               {_s(d['backup_s'])}  ({d['backup_mb']:.1f} MB, checked)")
    print(
        f"  caseload(limit=50)     {_s(d['caseload_page_first_s'])} first, "
        f"{_s(d['caseload_page_median_s'])} median of {UNLOCK_RUNS} ({d['caseload_rows']} rows)"
    )
    print(
        f"  count_caseload         {_s(d['count_caseload_first_s'])} first, "
        f"{_s(d['count_caseload_median_s'])} median of {UNLOCK_RUNS} ({d['caseload_total']})"
    )
    return ok


def emit_figures(saves: dict[str, Any], unlock: dict[str, Any], d: dict[str, Any]) -> None:
    """The headline figures for bench/report.py."""
    scale = 50_000 / d["episodes"] if d["episodes"] else 0.0
    lo, hi = TARGET_UNLOCK
    bare = "bare sqlcipher3 commit of the same rows"
    figures = [
        figure(f"save ({label}), p99", saves[phase]["store"]["p99_s"] * 1e3, "ms",
               floor=saves[phase]["bare"]["p99_s"] * 1e3, floor_is=bare,
               target=f"<= {TARGET_SAVE_RATIO:g}x floor",
               met=bool(saves[phase]["ratio_p99"] <= TARGET_SAVE_RATIO))
        for phase, label in (("new", "new episode"), ("update", "update 1 field"))
    ]  # fmt: skip
    figures += [
        figure("unlock (Store.open), median", unlock["open_median_s"], "s",
               floor=unlock["argon2id_median_s"], floor_is="Argon2id alone",
               target=f"{lo:g}-{hi:g} s", met=bool(lo <= unlock["open_median_s"] <= hi)),
        figure("quick_check, scaled to 50,000 episodes", d["quick_check_s"] * scale, "s",
               target=f"<= {TARGET_QUICK_50K:g} s",
               met=bool(d["quick_check_s"] * scale <= TARGET_QUICK_50K)),
        figure("cipher_integrity_check, scaled to 50,000", d["cipher_integrity_check_s"] * scale,
               "s", target=f"<= {TARGET_CIPHER_50K:g} s",
               met=bool(d["cipher_integrity_check_s"] * scale <= TARGET_CIPHER_50K)),
        figure(f"caseload first page of {d['episodes']:,}, median",
               d["caseload_page_median_s"] * 1e3, "ms"),
        figure(f"caseload count of {d['episodes']:,}, median",
               d["count_caseload_median_s"] * 1e3, "ms"),
    ]  # fmt: skip
    emit("store", f"durable saves, unlock, demo store of {d['episodes']:,} episodes", figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=100_000, help="demo store size")
    parser.add_argument("--saves", type=int, default=300, help="timed saves of each kind")
    args = parser.parse_args()
    if args.saves < 1 or args.episodes < 1:
        parser.error("--saves and --episodes must be 1 or more")
    with tempfile.TemporaryDirectory(prefix="pathway-bench-") as name:
        tmp = Path(name)
        os.environ["PATHWAY_DATA_DIR"] = str(tmp)
        refdata = paths.load()
        saves = bench_saves(tmp, refdata, args.saves)
        ok = report_saves(saves)
        unlock = bench_unlock(tmp / "saves.store", refdata)
        ok &= report_unlock(unlock)
        demo = bench_demo(tmp, refdata, args.episodes)
        ok &= report_demo(demo)
    target = os.environ.get("PATHWAY_BENCH_JSON")
    if target:
        Path(target).write_text(
            json.dumps({"saves": saves, "unlock": unlock, "demo": demo}, indent=2) + "\n",
            encoding="utf-8",
        )
    emit_figures(saves, unlock, demo)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
