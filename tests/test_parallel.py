"""Parallel import: worker processes parse while the main process writes; the store must end up exactly
as after a serial import, and a failing worker must surface as an error with nothing half-saved."""

from __future__ import annotations

import gc
import importlib.util
import json
import shutil
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canonical_lines import sonnet_price_file
from tokenpulse import ingest
from tokenpulse.errors import ImportFailed
from tokenpulse.ingest import FilePlan, run_import
from tokenpulse.parallel import shares
from tokenpulse.pricing import PriceBook, load_price_book
from tokenpulse.sources import Root
from tokenpulse.store import WriteResult
from tokenpulse.store.duckdb import DuckDBStore

BENCH_CORPUS = Path(__file__).parent.parent / "bench" / "claude_corpus.py"

def _generate(out: Path) -> None:
    spec = importlib.util.spec_from_file_location("claude_corpus", BENCH_CORPUS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(out, 5_000, seed=3, days=10, end=datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def corpus_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5 MB of Claude Code transcripts in ~20 files, plus two copies a resumed session leaves behind:
    a whole copy of one transcript, and a copy of another cut between the early (placeholder) lines and the
    final line of one response."""
    out = tmp_path_factory.mktemp("corpus")
    _generate(out)
    projects = out / "projects"
    files = sorted(p for p in projects.rglob("*.jsonl") if "subagents" not in p.parts)
    shutil.copyfile(files[0], files[0].with_name("resumed-whole.jsonl"))
    lines = files[1].read_bytes().splitlines(keepends=True)
    ids = [json.loads(line).get("message", {}).get("id") for line in lines]
    cut = next(i for i in range(1, len(ids) - 1) if ids[i] and ids[i] == ids[i + 1])  # inside one response
    files[1].with_name("resumed-partial.jsonl").write_bytes(b"".join(lines[: cut + 1]))
    return projects


@pytest.fixture
def corpus(corpus_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "claude" / "projects"
    shutil.copytree(corpus_template, target)
    return target


def open_store(tmp_path: Path, name: str) -> DuckDBStore:
    return DuckDBStore(tmp_path / f"{name}.duckdb")


def snapshot(store: DuckDBStore) -> dict[str, list[tuple]]:
    con = store.con
    return {
        "events": con.execute("SELECT * EXCLUDE (ingested_at) FROM events ORDER BY id").fetchall(),
        "usage_hourly": con.execute("SELECT * FROM usage_hourly ORDER BY ALL").fetchall(),
        "source_files": con.execute("SELECT * EXCLUDE (updated_at) FROM source_files ORDER BY path").fetchall(),
    }


def assert_sane(store: DuckDBStore) -> None:
    total, distinct = store.con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchall()[0]
    assert total == distinct
    assert store.con.execute("SELECT count(*) FROM dirty_hours").fetchall() == [(0,)]
    by_hour = """SELECT date_trunc('hour', ts), count(*), sum(output_tokens), sum(cost_micros) FROM events
                 GROUP BY 1 ORDER BY 1"""
    rollup = """SELECT hour, sum(requests), sum(output_tokens), sum(cost_micros) FROM usage_hourly
                GROUP BY 1 ORDER BY 1"""
    assert store.con.execute(rollup).fetchall() == store.con.execute(by_hour).fetchall()


def grow(corpus: Path, count: int) -> int:
    """Append one more complete response (two lines: placeholder, final) to `count` transcripts."""
    files = sorted(p for p in corpus.rglob("*.jsonl") if not p.name.startswith("resumed-"))[:count]
    for i, path in enumerate(files):
        last = json.loads(path.read_bytes().splitlines()[-1])
        for output in (5, 1_234 + i):
            line = dict(last, uuid=f"grown-{i}-{output}", timestamp="2026-03-01T12:00:00.000Z")
            line["message"] = dict(last["message"], id=f"msg_grown_{i}",
                                   usage=dict(last["message"]["usage"], output_tokens=output))
            with open(path, "ab") as f:
                f.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
    return len(files)


def test_parallel_import_stores_exactly_what_a_serial_import_stores(
        corpus: Path, tmp_path: Path, book: PriceBook) -> None:
    roots = [Root(corpus, "claude_code")]
    serial, parallel = open_store(tmp_path, "serial"), open_store(tmp_path, "parallel")
    try:
        s = run_import(serial, book, roots, workers=0)
        p = run_import(parallel, book, roots, workers=2)
        assert (s.workers, p.workers) == (0, 2)
        assert p.bytes_read == s.bytes_read > 4_000_000
        for attr in ("files_seen", "files_read", "lines_read", "usage_lines", "errors_total", "pending"):
            assert getattr(p, attr) == getattr(s, attr), attr
        assert not p.partial
        stored = serial.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        assert stored > 2_000
        # The serial import merges copies before writing; workers may send copies of one id separately.
        assert s.written == WriteResult(new=stored)
        assert p.written.new == stored
        assert snapshot(parallel) == snapshot(serial)
        assert_sane(parallel)

        # Grown files, read again in parallel: the same new events as the serial path.
        grown = grow(corpus, 3)
        s2 = run_import(serial, book, roots, workers=0)
        p2 = run_import(parallel, book, roots, workers=2)
        assert s2.written == p2.written == WriteResult(new=grown)
        assert (p2.files_read, p2.lines_read) == (grown, 2 * grown)
        assert snapshot(parallel) == snapshot(serial)
        assert serial.con.execute("SELECT sum(output_tokens) FROM events WHERE id LIKE '%grown%'").fetchall() == [
            (1_234 * grown + sum(range(grown)),)]

        # Nothing new: nothing read, nothing written.
        p3 = run_import(parallel, book, roots, workers=2)
        assert (p3.files_read, p3.bytes_read, p3.written) == (0, 0, WriteResult())
        assert snapshot(parallel) == snapshot(serial)
    finally:
        serial.close()
        parallel.close()


def test_a_worker_that_cannot_build_the_same_price_book_fails_the_import(
        corpus: Path, tmp_path: Path, book: PriceBook) -> None:
    prices = sonnet_price_file(tmp_path)
    custom = load_price_book([prices])
    roots = [Root(corpus, "claude_code")]
    store = open_store(tmp_path, "store")
    try:
        # The price file changes after this process built its book: the workers would price differently.
        prices.write_text(prices.read_text(encoding="utf-8").replace('input = "4"', 'input = "5"'),
                          encoding="utf-8")
        with pytest.raises(ImportFailed, match="price book"):
            run_import(store, custom, roots, workers=2)
        assert store.counts() == {"events": 0, "outcomes": 0, "source_files": 0, "ingest_errors": 0}

        custom = load_price_book([prices])
        report = run_import(store, custom, roots, workers=2)  # the workers are given the book's files
        assert report.workers == 2 and not report.partial
        serial = open_store(tmp_path, "serial")
        try:
            run_import(serial, custom, roots, workers=0)
            assert snapshot(store) == snapshot(serial)
        finally:
            serial.close()
        assert store.stale_price_versions(custom.version) == 0
    finally:
        store.close()


def test_a_worker_failing_mid_import_saves_nothing_and_the_next_import_recovers(
        corpus: Path, tmp_path: Path, book: PriceBook, monkeypatch: pytest.MonkeyPatch) -> None:
    real_plan = ingest.plan_import

    def plan_with_a_poisoned_file(*args, **kwargs):
        plans, forget = real_plan(*args, **kwargs)
        plans[-1] = replace(plans[-1], format="no-such-format")  # the worker raises on reaching it
        return plans, forget

    roots = [Root(corpus, "claude_code")]
    store = open_store(tmp_path, "store")
    try:
        monkeypatch.setattr(ingest, "plan_import", plan_with_a_poisoned_file)
        with pytest.raises(ImportFailed, match="no-such-format"):
            run_import(store, book, roots, workers=2)
        assert store.counts() == {"events": 0, "outcomes": 0, "source_files": 0, "ingest_errors": 0}
        assert store.con.execute("SELECT count(*) FROM usage_hourly").fetchall() == [(0,)]

        monkeypatch.undo()
        report = run_import(store, book, roots, workers=2)
        serial = open_store(tmp_path, "serial")
        try:
            assert report.written.new == run_import(serial, book, roots, workers=0).written.new
            assert snapshot(store) == snapshot(serial)
        finally:
            serial.close()
        assert_sane(store)
    finally:
        store.close()


def test_the_parallel_import_closes_its_worker_pipes(corpus: Path, tmp_path: Path, book: PriceBook) -> None:
    store = open_store(tmp_path, "store")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            report = run_import(store, book, [Root(corpus, "claude_code")], workers=2)
            gc.collect()
        assert report.workers == 2 and report.written.new > 2_000
        assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    finally:
        store.close()


def plan(path: str, size: int, offset: int = 0) -> FilePlan:
    return FilePlan(path=path, format="claude_code", root="/r", device=1, inode=hash(path) & 0xFFFF,
                    size=size, mtime_ns=0, head=b"", offset=offset)


def test_shares_balance_the_bytes_left_to_read() -> None:
    plans = [plan("a", 900), plan("b", 500, offset=100), plan("c", 400), plan("d", 300), plan("e", 100, offset=100)]
    split = shares(plans, 2)
    assert [[p.path for p in share] for share in split] == [["a", "e"], ["b", "c", "d"]]
    assert [sum(p.size - p.offset for p in share) for share in split] == [900, 1100]
    assert sorted(p.path for share in split for p in share) == ["a", "b", "c", "d", "e"]
    assert shares(plans[:1], 4) == [[plans[0]]]  # no empty shares
    assert shares([], 3) == []
