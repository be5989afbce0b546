"""State store throughput: mirror upserts, account-by-account streaming, the ledger.

Usage::

    python -m bench.bench_store [--rows 300000] [--batch 2000] [--writes 40000]
                                [--pg-url URL] [--no-pg] [--cpu] [--ledger-only]

Prints rows/s for upserting ``--rows`` Contract rows (realistic field payloads,
10 per account) and for streaming them back with ``iter_groups``; then, for the
ledger, writes/s for recording ``--writes`` Opportunity writes (6 fields each) as
intents and results in chunks of 200 (as apply does) and keys/s for reading back
the last value written to every field of every key (``last_written``, as a plan
does), on a temporary SQLite file and on a temporary PostgreSQL database (created
and dropped here).

``--ledger-only`` skips the mirror and prints, per write batch of 200 (intents, then
results, as apply records them), the CPU milliseconds of this process and the SQL
statements sent (an ``executemany`` counts once: one round trip on psycopg's
pipeline), for recording intents and results separately, and on PostgreSQL the CPU
milliseconds of the server's backend for both (from /proc: a local server).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, event, make_url, text

from sfrenew.store import (
    FieldWrite,
    MirrorRow,
    Operation,
    RunKind,
    WriteIntent,
    WriteResult,
    WriteStatus,
    open_store,
)

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_clock = time.perf_counter


def contract_rows(n: int) -> Iterator[MirrorRow]:
    start = date(2026, 1, 1)
    for i in range(n):
        account = f"001{i // 10:015d}"
        yield MirrorRow(
            sf_id=f"800{i:015d}", group_key=account,
            system_modstamp=f"2026-11-24T07:{i % 60:02d}:00.000+0000",
            data={"Id": f"800{i:015d}", "AccountId": account, "Status": "Activated",
                  "StartDate": start + timedelta(days=i % 365),
                  "EndDate": start + timedelta(days=365 + i % 365),
                  "ContractTerm": 12, "Amount": Decimal(i % 100_000) / 100,
                  "Description": "Annual subscription, auto-renew, net 30"})


def measure(url: str, rows: int, batch: int) -> tuple[float, float]:
    with open_store(url) as store:
        t0 = _clock()
        store.upsert_mirror("Contract", contract_rows(rows), batch=batch)
        upsert = rows / (_clock() - t0)
        t0 = _clock()
        seen = sum(len(g) for g in store.iter_groups(["Contract"], batch=batch))
        stream = seen / (_clock() - t0)
        assert seen == rows, (seen, rows)
    return upsert, stream


# A fixed instant: the figures do not depend on when the bench runs.
NOW = datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
CHUNK = 200  # records per sObject Collections call, as apply records them


def opportunity_writes(n: int, run: int) -> Iterator[WriteIntent]:
    close = date(2027, 1, 1)
    for i in range(n):
        yield WriteIntent(
            object="Opportunity", key=f"renewal:800{i:015d}",
            operation=Operation.CREATE if run == 0 else Operation.UPDATE,
            sf_id=None if run == 0 else f"006{i:015d}",
            fields=(FieldWrite("Amount", None, Decimal(i % 100_000 + run) / 100),
                    FieldWrite("CloseDate", None, close + timedelta(days=i % 365)),
                    FieldWrite("Name", None, f"Renewal {i} ({run})"),
                    FieldWrite("StageName", None, "Prospecting"),
                    FieldWrite("Type", None, "Renewal"),
                    FieldWrite("Description", None, "Uplift 5 % from the default rule")))


def measure_ledger(url: str, writes: int) -> tuple[float, float]:
    """Writes/s recording two runs of ``writes`` writes; keys/s reading them back."""
    with open_store(url) as store:
        t0 = _clock()
        for run in range(2):
            run_id = f"bench-{run}"
            store.start_run(run_id=run_id, job="bench", kind=RunKind.APPLY, now=NOW)
            for i, chunk in enumerate(_chunks(opportunity_writes(writes, run), CHUNK)):
                seqs = store.record_intents(run_id, chunk, now=NOW)
                store.record_results(run_id, [
                    WriteResult(seq, WriteStatus.SUCCEEDED,
                                sf_id=f"006{i * CHUNK + j:015d}")
                    for j, seq in enumerate(seqs)], now=NOW)
        record = 2 * writes / (_clock() - t0)
        keys = [f"renewal:800{i:015d}" for i in range(writes)]
        t0 = _clock()
        seen = 0
        for part in _chunks(iter(keys), 1000):
            seen += len(store.last_written("Opportunity", part))
        read = writes / (_clock() - t0)
        assert seen == 6 * writes, (seen, writes)
    return record, read


def measure_batches(url: str, writes: int) -> dict[str, float]:
    """CPU ms and statements per batch of ``CHUNK`` writes, intents and results apart,
    over two runs of ``writes`` writes (creates, then updates of the same keys)."""
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    cpu = {"intents": 0.0, "results": 0.0}
    sent = {"intents": 0, "results": 0}
    batches = 0
    with open_store(url) as store:
        event.listen(store._db.engine, "before_cursor_execute", count)
        server = _server_cpu(store)
        s0 = server()
        for run in range(2):
            run_id = f"bench-{run}"
            store.start_run(run_id=run_id, job="bench", kind=RunKind.APPLY, now=NOW)
            for i, chunk in enumerate(_chunks(opportunity_writes(writes, run), CHUNK)):
                batches += 1
                t0, n0 = time.process_time(), statements
                seqs = store.record_intents(run_id, chunk, now=NOW)
                t1, n1 = time.process_time(), statements
                store.record_results(run_id, [
                    WriteResult(seq, WriteStatus.SUCCEEDED,
                                sf_id=f"006{i * CHUNK + j:015d}")
                    for j, seq in enumerate(seqs)], now=NOW)
                cpu["intents"] += t1 - t0
                cpu["results"] += time.process_time() - t1
                sent["intents"] += n1 - n0
                sent["results"] += statements - n1
        served = server() - s0
    return {"server_ms": 1000 * served / batches,
            "intents_ms": 1000 * cpu["intents"] / batches,
            "results_ms": 1000 * cpu["results"] / batches,
            "intents_stmts": sent["intents"] / batches,
            "results_stmts": sent["results"] / batches}


def _server_cpu(store: Any) -> Callable[[], float]:
    """CPU seconds used so far by the PostgreSQL backend serving ``store`` (the one
    pooled connection a single-threaded bench uses), read from /proc: the server runs
    on this machine. Always 0 for SQLite, whose work is this process's CPU."""
    if store.dialect != "postgresql":
        return lambda: 0.0
    with store._db.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")  # a server elsewhere (or in another namespace)
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return used


def _chunks(items: Iterator[WriteIntent] | Iterator[str], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def with_pg_database(pg_url: str, body: Callable[[str], None]) -> None:
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"sfrenew_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            body(make_url(pg_url).set(database=name).render_as_string(hide_password=False))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--writes", type=int, default=40_000)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--cpu", action="store_true",
                        help="rates per CPU second of this process instead of per wall "
                             "second (steadier on a shared machine; a PostgreSQL "
                             "server's own CPU is then not counted)")
    parser.add_argument("--ledger-only", action="store_true",
                        help="only the ledger: CPU ms and SQL statements per write batch")
    args = parser.parse_args()
    global _clock  # noqa: PLW0603 -- the bench's one switch, set once before measuring
    _clock = time.process_time if args.cpu else time.perf_counter

    if args.ledger_only:
        _ledger_batches(args)
        return
    print(f"mirror: {args.rows:,} Contract rows, 10 per account, batch {args.batch:,}")
    print(f"ledger: {args.writes:,} Opportunity writes x 2 runs, 6 fields, chunks of {CHUNK}")
    print(f"{'backend':<12}{'upsert rows/s':>16}{'stream rows/s':>16}"
          f"{'ledger writes/s':>18}{'last_written keys/s':>22}")

    def report(backend: str, url: str) -> None:
        upsert, stream = measure(url, args.rows, args.batch)
        record, read = measure_ledger(url, args.writes)
        print(f"{backend:<12}{upsert:>16,.0f}{stream:>16,.0f}{record:>18,.0f}{read:>22,.0f}")

    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", f"sqlite:///{tmp}/bench.sqlite3")
    if not args.no_pg:
        with_pg_database(args.pg_url, lambda url: report("postgresql", url))


def _ledger_batches(args: argparse.Namespace) -> None:
    print(f"ledger: {args.writes:,} Opportunity writes x 2 runs, 6 fields, "
          f"batches of {CHUNK}; per batch:")
    print(f"{'backend':<12}{'intents CPU ms':>16}{'statements':>12}"
          f"{'results CPU ms':>16}{'statements':>12}{'server CPU ms':>15}")

    def report(backend: str, url: str) -> None:
        m = measure_batches(url, args.writes)
        print(f"{backend:<12}{m['intents_ms']:>16.2f}{m['intents_stmts']:>12.1f}"
              f"{m['results_ms']:>16.2f}{m['results_stmts']:>12.1f}"
              f"{m['server_ms']:>15.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", f"sqlite:///{tmp}/bench.sqlite3")
    if not args.no_pg:
        with_pg_database(args.pg_url, lambda url: report("postgresql", url))


if __name__ == "__main__":
    main()
