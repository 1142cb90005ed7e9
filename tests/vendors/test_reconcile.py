"""Reconciliation: a vendor's figures, the gateway's and local logs' for the same person, tool and UTC day,
side by side; totals count the vendor's figure where a cell has one, the others kept and labelled."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from msgspec.structs import replace

from cli_helpers import as_json, ok
from tokenpulse.events import UsageEvent
from tokenpulse.people import Person
from tokenpulse.reconcile import reconcile
from tokenpulse.store import UsageQuery
from tokenpulse.store.web import Scope

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def event(id: str, day: date, hour: int, person: str, tool: str, source: str, cost: int, *, tokens: int = 1000,
          confidence: str = "metered", request_id: str | None = None, reported: int | None = None) -> UsageEvent:
    return UsageEvent(id=id, ts=at(day, hour), person=person, tool=tool, provider="anthropic",
                      model="claude-sonnet-4-5", input_tokens=tokens, source=source, confidence=confidence,
                      cost_micros=cost, reported_cost_micros=reported, request_id=request_id, price_version="test")


# The case: every source disagrees about alice's Claude Code on D1; only the vendor reports her Cursor; on D2
# no vendor figure exists; bob's API usage is reported by the vendor and the gateway.
EVENTS = [
    # alice · claude_code · D1: vendor (Anthropic's Claude Code usage report, metered) $9.00
    event("claude-code:d1:alice", D1, 0, "alice@example.com", "claude_code", "vendor_api", 9_000_000, tokens=90_000),
    # … the gateway metered two requests, $7.50 …
    event("gateway:req_1", D1, 9, "alice@example.com", "claude_code", "gateway", 5_000_000, request_id="req_1"),
    event("gateway:req_2", D1, 10, "alice@example.com", "claude_code", "gateway", 2_500_000, request_id="req_2"),
    # … local logs estimated three, $8.25, one of them the gateway's req_1 seen again.
    event("claude_code:a", D1, 9, "alice@example.com", "claude_code", "local_log", 5_000_000, confidence="estimated",
          request_id="req_1"),
    event("claude_code:b", D1, 14, "alice@example.com", "claude_code", "local_log", 2_000_000, confidence="estimated"),
    event("claude_code:c", D1, 23, "alice@example.com", "claude_code", "local_log", 1_250_000, confidence="estimated"),
    # alice · cursor · D1: billed by Cursor, $0.43 (the bill is the cost).
    event("cursor:1", D1, 11, "alice@example.com", "cursor", "vendor_api", 430_000, confidence="billed",
          reported=430_000),
    # alice · claude_code · D2: no vendor figure. The gateway metered $1.00; local logs estimated $1.40, $1.00
    # of it the gateway's req_3 again (counted once, as the gateway metered it): $1.40 in all.
    event("gateway:req_3", D2, 8, "alice@example.com", "claude_code", "gateway", 1_000_000, request_id="req_3"),
    event("claude_code:d", D2, 15, "alice@example.com", "claude_code", "local_log", 400_000, confidence="estimated"),
    event("claude_code:e", D2, 8, "alice@example.com", "claude_code", "local_log", 1_000_000, confidence="estimated",
          request_id="req_3"),
    # bob · anthropic_api · D1: the vendor's usage report $3.00 against the gateway's $3.20.
    event("anthropic:d1:bob", D1, 0, "bob@example.com", "anthropic_api", "vendor_api", 3_000_000),
    event("gateway:req_9", D1, 16, "bob@example.com", "anthropic_api", "gateway", 3_200_000, request_id="req_9"),
]
COVERED = [("alice@example.com", "claude_code", D1), ("alice@example.com", "cursor", D1),
           ("bob@example.com", "anthropic_api", D1)]


def side(confidence: str, requests: int, tokens: int, usd: str, **more: object) -> dict[str, object]:
    return {"confidence": confidence, "requests": requests, "tokens": tokens, "cost_usd": Decimal(usd),
            "unpriced_requests": 0, **more}


EXPECTED_CELLS = [
    {"person": "alice@example.com", "tool": "claude_code", "day": "2026-11-02",
     "vendor": side("metered", 1, 90_000, "9"), "gateway": side("metered", 2, 2000, "7.5"),
     "local": side("estimated", 3, 3000, "8.25", gateway_duplicates=1, gateway_duplicates_usd=Decimal("5")),
     "counted": ["vendor"], "counted_usd": Decimal("9"),
     "differences_usd": {"gateway_minus_vendor": Decimal("-1.5"), "local_minus_vendor": Decimal("-0.75"),
                         "local_minus_gateway": Decimal("0.75")}},
    {"person": "alice@example.com", "tool": "cursor", "day": "2026-11-02",
     "vendor": side("billed", 1, 1000, "0.43"), "gateway": None, "local": None,
     "counted": ["vendor"], "counted_usd": Decimal("0.43"), "differences_usd": {}},
    {"person": "bob@example.com", "tool": "anthropic_api", "day": "2026-11-02",
     "vendor": side("metered", 1, 1000, "3"), "gateway": side("metered", 1, 1000, "3.2"), "local": None,
     "counted": ["vendor"], "counted_usd": Decimal("3"),
     "differences_usd": {"gateway_minus_vendor": Decimal("0.2")}},
    {"person": "alice@example.com", "tool": "claude_code", "day": "2026-11-03",
     "vendor": None, "gateway": side("metered", 1, 1000, "1"),
     "local": side("estimated", 2, 2000, "1.4", gateway_duplicates=1, gateway_duplicates_usd=Decimal("1")),
     "counted": ["gateway", "local"], "counted_usd": Decimal("1.4"),
     "differences_usd": {"local_minus_gateway": Decimal("0.4")}},
]


@pytest.fixture
def case(any_store):
    any_store.write_batch(EVENTS)
    assert any_store.cover_vendor_days(COVERED) == 3
    assert any_store.cover_vendor_days(COVERED) == 0  # recorded once
    return any_store


def test_the_report_lists_each_cell_with_every_source_and_the_differences(case) -> None:
    report = reconcile(case, D1, D2, only="all").to_json()
    assert report["cells"] == EXPECTED_CELLS
    assert report["cells_total"] == 4
    assert report["totals"] == {
        "vendor": side("mixed", 3, 92_000, "12.43"),
        "gateway": side("metered", 4, 4000, "11.7"),
        "local": side("estimated", 5, 5000, "9.65", gateway_duplicates=2, gateway_duplicates_usd=Decimal("6"))}
    # What totals count: the vendor's $12.43 where it reported, gateway and local ($1.40) elsewhere.
    assert report["counted_usd"] == Decimal("13.83")
    assert [(t["tool"], t["counted_usd"]) for t in report["tools"]] == [
        ("anthropic_api", Decimal("3")), ("claude_code", Decimal("10.4")), ("cursor", Decimal("0.43"))]
    assert (report["since"], report["until"], report["days"]) == ("2026-11-02", "2026-11-03", "UTC")


def test_listing_only_what_several_sources_report_or_what_differs(case) -> None:
    several = reconcile(case, D1, D2).to_json()
    assert [(c["person"], c["tool"], c["day"]) for c in several["cells"]] == [
        ("alice@example.com", "claude_code", "2026-11-02"), ("bob@example.com", "anthropic_api", "2026-11-02"),
        ("alice@example.com", "claude_code", "2026-11-03")]
    assert several["counted_usd"] == Decimal("13.83")  # totals cover every cell, listed or not
    one_day = reconcile(case, D2, D2, only="differing", tools=("claude_code",)).to_json()
    assert [c["day"] for c in one_day["cells"]] == ["2026-11-03"]
    assert reconcile(case, D1, D2, scope=Scope(people=("bob@example.com",))).to_json()["counted_usd"] == Decimal("3")


def test_totals_count_the_vendor_figure_and_keep_the_others(case) -> None:
    rows = case.usage_rows(UsageQuery(group="day", tz="UTC", people=("alice@example.com",)))
    assert {(r.key, r.cost_micros, r.requests) for r in rows} == {
        (D1, 9_430_000, 2),  # the Claude Code report's $9.00 and Cursor's bill; gateway and local left out
        (D2, 1_400_000, 2)}  # no vendor figure: the gateway's, and local logs' but for its own request again
    # Nothing is deleted: every event is still stored, with its source.
    assert len(list(case.iter_usage())) == len(EVENTS)
    # A zone whose days are not whole UTC hours is summed from the events: the same rule applies.
    kolkata = case.usage_rows(UsageQuery(group="person", tz="Asia/Kolkata", since=at(D1, 0), until=at(D2, 0)))
    assert {(r.key, r.cost_micros) for r in kolkata} == {("alice@example.com", 9_430_000),
                                                        ("bob@example.com", 3_000_000)}


def test_cells_follow_an_alias_to_its_person(store) -> None:
    store.write_batch([event("openai:1", D1, 0, "openai-user:user-ana", "openai_api", "vendor_api", 2_000_000),
                       event("gateway:r", D1, 12, "ana@example.com", "openai_api", "gateway", 2_100_000)])
    store.cover_vendor_days([("openai-user:user-ana", "openai_api", D1)])
    day = UsageQuery(group="day", tz="UTC", people=("ana@example.com",))
    assert [r.cost_micros for r in store.usage_rows(day)] == [2_100_000]
    store.save_people([Person("ana@example.com", aliases=["openai-user:user-ana"])])
    assert store.vendor_days() == [("ana@example.com", "openai_api", D1)]
    assert [r.cost_micros for r in store.usage_rows(day)] == [2_000_000]


def test_the_command_prints_the_report_as_json_csv_and_a_table() -> None:
    from tokenpulse.config import load_settings
    from tokenpulse.store import open_store

    empty = as_json(ok("reconcile", "--since", "2026-11-02", "--until", "2026-11-03", "--json"))
    assert empty["cells"] == [] and empty["counted_usd"] == 0 and empty["totals"]["vendor"]["requests"] == 0
    store = open_store(load_settings().db)
    try:
        store.write_batch(EVENTS)
        store.cover_vendor_days(COVERED)
    finally:
        store.close()
    data = as_json(ok("reconcile", "--since", "2026-11-02", "--until", "2026-11-03", "--only", "all", "--json"))
    assert data["cells"] == EXPECTED_CELLS
    csv = ok("reconcile", "--since", "2026-11-02", "--until", "2026-11-03", "--csv").stdout.splitlines()
    assert csv[0] == ("day,person,tool,vendor_usd,gateway_usd,local_usd,vendor_confidence,gateway_confidence,"
                      "local_confidence,counted,counted_usd")
    assert csv[1] == ("2026-11-02,alice@example.com,claude_code,9.000000,7.500000,8.250000,metered,metered,"
                      "estimated,vendor,9.000000")
    table = ok("reconcile", "--since", "2026-11-02", "--until", "2026-11-03").stdout
    assert "claude_code" in table and "$13.83" in table and "gateway−vendor -1.50" in table


def test_the_focus_export_bills_a_reported_day_once(case) -> None:
    import csv
    import io

    from tokenpulse.exports import write_export

    out = io.BytesIO()
    write_export(case, "focus", out, D1, D2)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"))))
    listed = sorted((r["ChargePeriodStart"][:10], r["x_Person"], r["x_Tool"], r["x_Source"], r["ListCost"])
                    for r in rows)
    assert listed == [
        ("2026-11-02", "alice@example.com", "claude_code", "vendor_api", "9.000000"),
        ("2026-11-02", "alice@example.com", "cursor", "vendor_api", "0.430000"),
        ("2026-11-02", "bob@example.com", "anthropic_api", "vendor_api", "3.000000"),
        ("2026-11-03", "alice@example.com", "claude_code", "gateway", "1.000000"),
        ("2026-11-03", "alice@example.com", "claude_code", "local_log", "0.400000")]  # not req_3 again
    # The same total as the reconciliation counts.
    assert sum(Decimal(r["ListCost"]) for r in rows) == reconcile(case, D1, D2).to_json()["counted_usd"]


@pytest.mark.parametrize("gateway_first", [True, False])
def test_a_local_copy_of_a_gateway_request_counts_once_whichever_arrives_first(store, gateway_first: bool) -> None:
    gateway = event("gateway:req_7", D1, 10, "ann@example.com", "claude_code", "gateway", 2_000_000,
                    request_id="req_7")
    local = event("claude_code:x", D1, 10, "ann@example.com", "claude_code", "local_log", 1_900_000,
                  confidence="estimated", request_id="req_7")
    other = event("claude_code:y", D1, 11, "ann@example.com", "claude_code", "local_log", 300_000,
                  confidence="estimated", request_id="req_8")
    for batch in ([gateway], [local, other]) if gateway_first else ([local, other], [gateway]):
        store.write_batch(batch)
        store.refresh_rollups()
    day = UsageQuery(group="day", tz="UTC", people=("ann@example.com",))
    assert [(r.cost_micros, r.requests) for r in store.usage_rows(day)] == [(2_300_000, 2)]
    # Summed from the events (a zone off whole hours), the same.
    kolkata = UsageQuery(group="person", tz="Asia/Kolkata", since=at(D1, 0), until=at(D2, 0))
    assert [r.cost_micros for r in store.usage_rows(kolkata)] == [2_300_000]
    assert len(list(store.iter_usage())) == 3  # all kept


def test_cells_come_a_page_at_a_time_with_the_totals_of_all(case) -> None:
    whole = reconcile(case, D1, D2, only="all").to_json()
    page = reconcile(case, D1, D2, only="all", limit=2, offset=1).to_json()
    assert page["cells"] == whole["cells"][1:3]
    assert (page["cells_total"], page["cells_listed"]) == (4, 4)
    assert page["totals"] == whole["totals"] and page["counted_usd"] == whole["counted_usd"]
    assert reconcile(case, D1, D2, only="differing", limit=10, offset=10).to_json()["cells"] == []


def test_a_local_copy_in_the_hour_before_its_gateway_request_counts_once(any_store) -> None:
    gateway = replace(event("gateway:req_b", D1, 10, "ann@example.com", "claude_code", "gateway", 2_000_000,
                                    request_id="req_b"), ts=at(D1, 10) + timedelta(seconds=1))
    local = replace(event("claude_code:b", D1, 9, "ann@example.com", "claude_code", "local_log", 1_900_000,
                                  confidence="estimated", request_id="req_b"), ts=at(D1, 10) - timedelta(seconds=1))
    any_store.write_batch([local])
    any_store.refresh_rollups()  # hour 09 summed with the local copy alone
    any_store.write_batch([gateway])  # written later: hour 09 is rebuilt too
    day = UsageQuery(group="day", tz="UTC", people=("ann@example.com",))
    assert [(r.cost_micros, r.requests) for r in any_store.usage_rows(day)] == [(2_000_000, 1)]
