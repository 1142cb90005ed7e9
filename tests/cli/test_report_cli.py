"""`tokenpulse report …` end to end through the command line: flags, table, JSON and CSV.

The hand-made data set (bundled prices, USD per million tokens):

    a  2026-03-02 09:00Z  claude-opus-4-5  1M in x 5 + 0.1M out x 25 + 2M cache write x 6.25
                          + 10M cache read x 0.5 = 5 + 2.5 + 12.5 + 5 = $25.00; 13,100,000 tokens
    b  2026-03-02 10:00Z  gpt-5 (codex)    2M in x 1.25 + 0.1M out x 10 = 2.5 + 1 = $3.50; 2,100,000 tokens
    c  2026-03-03 04:30Z  claude-opus-4-5  4M in x 5 + 0.2M out x 25 = 20 + 5 = $25.00; 4,200,000 tokens
                          (23:30 on 2026-03-02 in New York)
    u  2026-03-03 12:00Z  acme-model-9     no price; 550,000 tokens

(claude-opus-4-5 has no long-context tier, so these large prompts are billed at the base rates.)
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from cli_helpers import as_json, assert_clean_failure, ev, ok, tp, write_ndjson

OPUS = "claude-opus-4-5"
KINDS = ["daily", "weekly", "monthly", "session", "blocks"]
EVENTS = [
    ev("a", "2026-03-02T09:00:00Z", model=OPUS, session="s1", project="alpha", input_tokens=1_000_000,
       output_tokens=100_000, cache_write_tokens=2_000_000, cache_read_tokens=10_000_000),
    ev("b", "2026-03-02T10:00:00Z", session="s1", project="alpha", tool="codex", provider="openai",
       model="gpt-5", input_tokens=2_000_000, output_tokens=100_000),
    ev("c", "2026-03-03T04:30:00Z", model=OPUS, session="s2", project="beta", input_tokens=4_000_000, output_tokens=200_000),
    ev("u", "2026-03-03T12:00:00Z", session="s2", project="beta", tool="acme_cli", provider="acme",
       model="acme-model-9", input_tokens=500_000, output_tokens=50_000),
]
CSV_HEADER = ("key,model,models,requests,input_tokens,output_tokens,cache_write_tokens,cache_write_1h_tokens,"
              "cache_read_tokens,reasoning_tokens,total_tokens,cost_usd,effective_cost_usd,cost_per_mtok_usd,"
              "cost_complete,unpriced_models")


@pytest.fixture
def data_set(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "in" / "events.ndjson", EVENTS), "--format", "ndjson")


def report(*args: str) -> dict:
    return as_json(ok("report", *args, "--no-import", "--json"))


def keyed(r: dict, field: str = "total_tokens") -> list[tuple[str, object]]:
    return [(row["key"], row[field]) for row in r["rows"]]


def line_starting(text: str, start: str) -> list[str]:
    """The words of the first output line that starts (after indentation) with `start`."""
    for line in text.splitlines():
        if line.strip().startswith(start):
            return line.split()
    raise AssertionError(f"no line starting with {start!r} in:\n{text}")


# --- JSON --------------------------------------------------------------------------------------------


def test_daily_json_columns_and_totals(data_set) -> None:
    r = report("daily", "--tz", "UTC")
    day1, day2 = r["rows"]
    assert day1 == {
        "key": "2026-03-02", "models": ["claude-opus-4-5", "gpt-5"], "requests": 2,
        "input_tokens": 3_000_000, "output_tokens": 200_000, "cache_write_tokens": 2_000_000,
        "cache_write_1h_tokens": 0, "cache_read_tokens": 10_000_000, "reasoning_tokens": 0,
        "total_tokens": 15_200_000, "cost_usd": Decimal("28.5"), "effective_cost_usd": Decimal("28.5"),
        "cost_per_mtok_usd": Decimal("1.875000"),  # $28.50 / 15.2M tokens
        "cost_complete": True, "unpriced": [],
    }
    assert day2["models"] == ["acme-model-9", "claude-opus-4-5"]
    assert (day2["total_tokens"], day2["cost_usd"], day2["cost_per_mtok_usd"]) == (
        4_750_000, Decimal("25"), Decimal("5.952381"))  # $25 / 4.2M priced tokens
    assert (day2["cost_complete"], day2["unpriced"]) == (
        False, [{"model": "acme-model-9", "requests": 1, "tokens": 550_000}])
    totals = r["totals"]
    assert (totals["requests"], totals["input_tokens"], totals["output_tokens"], totals["cache_write_tokens"],
            totals["cache_read_tokens"], totals["total_tokens"]) == (4, 7_500_000, 450_000, 2_000_000,
                                                                    10_000_000, 19_950_000)
    assert (totals["cost_usd"], totals["cost_per_mtok_usd"], totals["cost_complete"]) == (
        Decimal("53.5"), Decimal("2.757732"), False)  # $53.50 / 19.4M priced tokens
    assert r["meta"]["timezone"] == "UTC"
    assert r["meta"]["import"] is None  # --no-import


def test_time_zone_moves_events_between_days(data_set) -> None:
    assert keyed(report("daily", "--tz", "America/New_York")) == [("2026-03-02", 19_400_000), ("2026-03-03", 550_000)]
    assert keyed(report("daily", "--timezone", "UTC")) == [("2026-03-02", 15_200_000), ("2026-03-03", 4_750_000)]


def test_since_until_accept_both_date_spellings_and_are_inclusive(data_set) -> None:
    dashed = report("daily", "--tz", "UTC", "--since", "2026-03-03", "--until", "2026-03-03")
    compact = report("daily", "--tz", "UTC", "-s", "20260303", "-u", "20260303")
    assert keyed(dashed) == keyed(compact) == [("2026-03-03", 4_750_000)]
    assert dashed["totals"] == compact["totals"]
    assert (compact["meta"]["since"], compact["meta"]["until"]) == ("2026-03-03", "2026-03-03")
    ny = report("daily", "--tz", "America/New_York", "--until", "2026-03-02")
    assert keyed(ny) == [("2026-03-02", 19_400_000)]


def test_tool_project_and_order_flags(data_set) -> None:
    assert keyed(report("daily", "--tz", "UTC", "--tool", "codex")) == [("2026-03-02", 2_100_000)]
    assert keyed(report("daily", "--tz", "UTC", "--tool", "codex", "--tool", "acme_cli")) == [
        ("2026-03-02", 2_100_000), ("2026-03-03", 550_000)]
    assert keyed(report("daily", "--tz", "UTC", "--project", "beta")) == [("2026-03-03", 4_750_000)]
    assert keyed(report("daily", "--tz", "UTC", "--project", "alpha", "--tool", "claude_code")) == [
        ("2026-03-02", 13_100_000)]
    assert keyed(report("daily", "--tz", "UTC", "--order", "desc")) == [
        ("2026-03-03", 4_750_000), ("2026-03-02", 15_200_000)]
    assert keyed(report("session", "--tz", "UTC")) == [("s1", 15_200_000), ("s2", 4_750_000)]
    assert keyed(report("session", "--tz", "UTC", "--order", "desc")) == [("s2", 4_750_000), ("s1", 15_200_000)]


def test_week_start_flag(data_set) -> None:
    # 2026-03-02 is a Monday, 2026-03-01 a Sunday.
    assert keyed(report("weekly", "--tz", "UTC")) == [("2026-03-02", 19_950_000)]
    assert keyed(report("weekly", "--tz", "UTC", "--week-start", "sunday")) == [("2026-03-01", 19_950_000)]
    assert keyed(report("weekly", "--tz", "UTC", "--week-start", "Tuesday")) == [
        ("2026-02-24", 15_200_000), ("2026-03-03", 4_750_000)]


def test_monthly_and_blocks_json(data_set) -> None:
    assert keyed(report("monthly", "--tz", "UTC"), "cost_usd") == [("2026-03", Decimal("53.5"))]
    blocks = report("blocks", "--tz", "UTC")
    assert [(row["start"], row["gap"], row["total_tokens"]) for row in blocks["rows"]] == [
        ("2026-03-02T09:00:00+00:00", False, 15_200_000),
        ("2026-03-02T15:00:00+00:00", True, 0),           # 10:00 + 5 h, until c at 04:30 next day
        ("2026-03-03T04:00:00+00:00", False, 4_200_000),
        ("2026-03-03T09:30:00+00:00", True, 0),
        ("2026-03-03T12:00:00+00:00", False, 550_000),
    ]


def test_discount_flag(data_set) -> None:
    flat = report("daily", "--tz", "UTC", "--discount", "15%")
    # Day 1: $25 x 0.85 + $3.50 x 0.85 = 21.25 + 2.975; day 2: $25 x 0.85 (the unpriced model adds nothing).
    assert keyed(flat, "effective_cost_usd") == [("2026-03-02", Decimal("24.225")), ("2026-03-03", Decimal("21.25"))]
    assert flat["totals"]["effective_cost_usd"] == Decimal("45.475")
    assert flat["totals"]["cost_usd"] == Decimal("53.5")
    assert flat["meta"]["discount"] == {"default": "15%"}
    split = report("daily", "--tz", "UTC", "--discount", "anthropic=10%,openai=5%")
    # Day 1: 25 x 0.9 + 3.5 x 0.95 = 22.5 + 3.325; day 2: 25 x 0.9.
    assert keyed(split, "effective_cost_usd") == [("2026-03-02", Decimal("25.825")), ("2026-03-03", Decimal("22.5"))]
    assert split["totals"]["effective_cost_usd"] == Decimal("48.325")
    assert split["meta"]["discount"] == {"default": "0%", "anthropic": "10%", "openai": "5%"}


def test_breakdown_json(data_set) -> None:
    r = report("daily", "--tz", "UTC", "--breakdown", "model")
    day1 = r["rows"][0]
    assert [(b["model"], b["requests"], b["total_tokens"], b["cost_usd"]) for b in day1["breakdown"]] == [
        ("claude-opus-4-5", 1, 13_100_000, Decimal("25")),
        ("gpt-5", 1, 2_100_000, Decimal("3.5")),
    ]
    assert [(b["model"], b["cost_complete"]) for b in r["rows"][1]["breakdown"]] == [
        ("acme-model-9", False), ("claude-opus-4-5", True)]


@pytest.mark.parametrize("kind", KINDS)
def test_json_has_a_stable_shape_for_every_kind(kind, tmp_path: Path) -> None:
    empty = report(kind)
    assert empty["rows"] == []
    assert empty["totals"]["requests"] == 0 and empty["totals"]["cost_complete"] is True
    ok("import", write_ndjson(tmp_path / "in" / "events.ndjson", EVENTS))
    full = report(kind)
    assert full["rows"]
    assert list(full) == list(empty) == ["report", "schema", "rows", "totals", "meta"]
    assert full["report"] == empty["report"] == kind
    assert list(full["totals"]) == list(empty["totals"])
    assert list(full["meta"]) == list(empty["meta"])


# --- CSV ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_csv_has_a_header_even_when_empty(kind) -> None:
    # Session and block rows carry their own details right after the key.
    extra = {"session": "project,first_activity,last_activity,",
             "blocks": "start,end,first_activity,last_activity,active,gap,"}.get(kind, "")
    result = ok("report", kind, "--no-import", "--csv")
    assert result.stdout == CSV_HEADER.replace("key,", "key," + extra, 1) + "\n"


def test_csv_rows_and_model_breakdown(data_set) -> None:
    plain = list(csv.DictReader(io.StringIO(ok("report", "daily", "--tz", "UTC", "--no-import", "--csv").stdout)))
    assert [(r["key"], r["model"], r["models"], r["total_tokens"], r["cost_usd"], r["cost_per_mtok_usd"],
             r["cost_complete"], r["unpriced_models"]) for r in plain] == [
        ("2026-03-02", "", "claude-opus-4-5;gpt-5", "15200000", "28.500000", "1.875000", "true", ""),
        ("2026-03-03", "", "acme-model-9;claude-opus-4-5", "4750000", "25.000000", "5.952381", "false", "acme-model-9"),
    ]
    result = ok("report", "daily", "--tz", "UTC", "--no-import", "--csv", "--breakdown", "model", "--discount", "15%")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["key"], r["model"], r["requests"], r["total_tokens"], r["cost_usd"], r["effective_cost_usd"],
             r["cost_per_mtok_usd"], r["cost_complete"]) for r in rows] == [
        ("2026-03-02", "", "2", "15200000", "28.500000", "24.225000", "1.875000", "true"),
        ("2026-03-02", "claude-opus-4-5", "1", "13100000", "25.000000", "21.250000", "1.908397", "true"),
        ("2026-03-02", "gpt-5", "1", "2100000", "3.500000", "2.975000", "1.666667", "true"),
        ("2026-03-03", "", "2", "4750000", "25.000000", "21.250000", "5.952381", "false"),
        ("2026-03-03", "acme-model-9", "1", "550000", "", "", "", "false"),  # unpriced: blank, not $0
        ("2026-03-03", "claude-opus-4-5", "1", "4200000", "25.000000", "21.250000", "5.952381", "true"),
    ]


def test_json_and_csv_together_is_a_usage_error() -> None:
    result = tp("report", "daily", "--no-import", "--json", "--csv")
    assert_clean_failure(result, (2,))
    assert "choose one of --json and --csv" in result.stderr
    assert result.stdout == ""


# --- the table ---------------------------------------------------------------------------------------


def test_table_columns_totals_discount_and_unpriced_footnote(data_set) -> None:
    out = ok("report", "daily", "--tz", "UTC", "--no-import", "--discount", "15%").stdout
    assert "Usage by day" in out and "UTC" in out
    for header in ("Input", "Output", "Cache write", "Cache read", "Total", "Cost", "Effective", "$/MTok"):
        assert header in out
    # input, output, cache write, cache read, total tokens, list cost, effective cost, $/MTok
    assert line_starting(out, "2026-03-02")[-8:] == [
        "3,000,000", "200,000", "2,000,000", "10,000,000", "15,200,000", "$28.50", "$24.23", "$1.88"]
    assert line_starting(out, "2026-03-03")[-10:] == [
        "4,500,000", "250,000", "0", "0", "4,750,000", "$25.00", "*", "$21.25", "*", "$5.95"]
    assert line_starting(out, "Total")[-10:] == [
        "7,500,000", "450,000", "2,000,000", "10,000,000", "19,950,000", "$53.50", "*", "$45.48", "*", "$2.76"]
    flat = " ".join(out.split())
    assert re.search(r"\* Costs leave out models with no price: acme-model-9 \(1 requests?, 550,000 tokens\)", flat)
    assert "prices = " in flat
    assert "Effective = list cost less the org discount (default: 15%)" in flat


def test_table_without_discount_has_no_effective_column(data_set) -> None:
    out = ok("report", "daily", "--tz", "UTC", "--no-import", "--project", "alpha").stdout
    assert "Effective" not in out
    assert line_starting(out, "2026-03-02")[-7:] == [
        "3,000,000", "200,000", "2,000,000", "10,000,000", "15,200,000", "$28.50", "$1.88"]
    assert "no price" not in out  # every model here is priced: no footnote


def test_table_breakdown_lists_each_model(data_set) -> None:
    out = ok("report", "daily", "--tz", "UTC", "--no-import", "--breakdown", "model").stdout
    lines = out.splitlines()
    opus = [line for line in lines if "└" in line and "opus-4-5" in line]
    gpt = [line for line in lines if "└" in line and "gpt-5" in line]
    acme = [line for line in lines if "└" in line and "acme-model-9" in line]
    assert len(opus) == 2 and len(gpt) == 1 and len(acme) == 1
    assert opus[0].split()[-7:] == ["1,000,000", "100,000", "2,000,000", "10,000,000", "13,100,000", "$25.00", "$1.91"]
    assert gpt[0].split()[-7:] == ["2,000,000", "100,000", "0", "0", "2,100,000", "$3.50", "$1.67"]
    assert acme[0].split()[-8:-3] == ["500,000", "50,000", "0", "0", "550,000"]


def test_table_never_shows_unpriced_usage_as_zero_dollars(tmp_path: Path) -> None:
    # A day whose only usage has no price has no known cost: "$0.00" would read as "free".
    ok("import", write_ndjson(tmp_path / "u.ndjson", [EVENTS[3]]))
    out = ok("report", "daily", "--tz", "UTC", "--no-import").stdout
    day = line_starting(out, "2026-03-03")
    assert day[day.index("550,000") - 4:day.index("550,000") + 1] == ["500,000", "50,000", "0", "0", "550,000"]
    assert "$0.00" not in day, day
    assert "$0.00" not in line_starting(out, "Total")
    assert as_json(ok("report", "daily", "--no-import", "--json"))["totals"]["cost_complete"] is False


def test_cost_per_million_tokens_is_rounded_once(tmp_path: Path) -> None:
    # claude-sonnet-4-5: 1000 in x 3 + 100 out x 15 + 2000 cache write x 3.75 + 10000 cache read x 0.3
    # = 15000 micro-USD for 13100 tokens: $1.145038… per million tokens, $1.15 to the cent.
    ok("import", write_ndjson(tmp_path / "a.ndjson", [ev("a", "2026-03-02T09:00:00Z", input_tokens=1000,
                                                        output_tokens=100, cache_write_tokens=2000,
                                                        cache_read_tokens=10000)]))
    assert report("daily")["totals"]["cost_per_mtok_usd"] == Decimal("1.145038")
    out = ok("report", "daily", "--tz", "UTC", "--no-import").stdout
    assert line_starting(out, "2026-03-02")[-1] == "$1.15"


@pytest.mark.parametrize("kind", KINDS)
def test_empty_table_says_so(kind) -> None:
    result = ok("report", kind, "--no-import")
    assert "No usage found" in result.stdout


def test_report_without_a_kind_is_daily(data_set) -> None:
    assert as_json(ok("report", "--no-import", "--json", "--tz", "UTC")) == report("daily", "--tz", "UTC")


# --- import before reporting -----------------------------------------------------------------------


def test_reports_import_new_local_logs_first(data: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(data / "claude"))
    assert report("daily")["rows"] == []  # --no-import: nothing stored yet
    # project-alpha/session-alpha/chat.jsonl holds three requests (worked out from the file, bundled prices):
    #   2026-01-09T10:00Z claude-sonnet-4: 100 in x 3 + 50 out x 15 + 25 cache write x 3.75 + 10 cache read x 0.3
    #                     = 1146.75 -> 1147 micro-USD (half to even); 185 tokens
    #   2026-01-09T12:30Z claude-opus-4:   200 x 15 + 75 x 75 + 50 x 18.75 + 20 x 1.5 = 9592.5 -> 9592; 345 tokens
    #   2026-01-10T09:15Z claude-sonnet-4: 300 x 3 + 125 x 15 + 40 x 0.3 = 2787; 465 tokens
    r = as_json(ok("report", "daily", "--json", "--tz", "UTC", "--project", "project-alpha"))
    assert [(row["key"], row["total_tokens"], row["cost_usd"]) for row in r["rows"]] == [
        ("2026-01-09", 530, Decimal("0.010739")), ("2026-01-10", 465, Decimal("0.002787"))]
    assert r["meta"]["import"]["events"]["new"] > 0
    assert r["meta"]["import"]["partial"] is False
    # At UTC+14 the first request falls exactly on local midnight of the 10th: all three on one day.
    kiritimati = report("daily", "--tz", "Pacific/Kiritimati", "--project", "project-alpha")
    assert [(row["key"], row["total_tokens"], row["cost_usd"]) for row in kiritimati["rows"]] == [
        ("2026-01-10", 995, Decimal("0.013526"))]
    # Nothing new the second time.
    again = as_json(ok("report", "daily", "--json", "--tz", "UTC", "--project", "project-alpha"))
    assert again["meta"]["import"]["events"]["new"] == 0
    assert again["rows"] == r["rows"]


def test_a_malformed_log_line_gives_exit_3_with_the_report_and_a_warning(copy_data, monkeypatch) -> None:
    claude = copy_data("claude")
    log = claude / "projects" / "project-alpha" / "session-alpha" / "chat.jsonl"
    lines_before = len(log.read_bytes().splitlines())
    with log.open("ab") as f:
        f.write(b'{"timestamp": "2026-01-11T10:00:00Z", "message": {"usage": \n')
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    result = tp("report", "daily", "--json", "--tz", "UTC", "--project", "project-alpha")
    assert result.exit_code == 3, (result.stdout, result.stderr)
    r = as_json(result)  # the report is still printed, whole
    assert [row["key"] for row in r["rows"]] == ["2026-01-09", "2026-01-10"]
    assert r["meta"]["import"]["partial"] is True
    assert r["meta"]["import"]["errors_total"] == 1
    assert r["meta"]["import"]["errors"][0]["line"] == lines_before + 1
    assert f"{log}:{lines_before + 1}:" in result.stderr
    assert "warning" in result.stderr
    assert "Traceback" not in result.stderr
    # The table form exits 3 as well (the bad line is reported once, by the import that read it).
    log.write_bytes(log.read_bytes() + b"not json either\n")
    table = tp("report", "daily", "--tz", "UTC")
    assert table.exit_code == 3
    assert "2026-01-09" in table.stdout
    assert f"{log}:{lines_before + 2}:" in table.stderr


def test_end_to_end_on_the_sample_logs(data: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(data / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(data / "codex"))
    daily = as_json(ok("report", "daily", "--json", "--tz", "UTC"))
    assert daily["meta"]["import"]["partial"] is False
    totals = daily["totals"]
    assert totals["cost_complete"] is True
    for key in ("requests", "total_tokens", "cost_usd", "input_tokens", "cache_read_tokens"):
        assert sum(row[key] for row in daily["rows"]) == totals[key]
    # Every kind, every zone: the same requests, tokens and money in total.
    for kind in KINDS:
        for tz in ("UTC", "America/New_York", "Asia/Kolkata"):
            assert report(kind, "--tz", tz)["totals"] == totals, (kind, tz)
    # Tools split the total exactly.
    by_tool = [report("daily", "--tool", tool)["totals"] for tool in ("claude_code", "codex")]
    for key in ("requests", "total_tokens", "cost_usd"):
        assert by_tool[0][key] + by_tool[1][key] == totals[key]
    assert report("daily", "--tool", "codex", "--tz", "UTC")["rows"][0]["models"] == ["gpt-5.3-codex"]


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--tz", "Mars/Olympus_Mons"], "unknown time zone 'Mars/Olympus_Mons'"),
    (["--since", "2026-13-01"], "expected a date like 2026-11-03"),
    (["--until", "yesterdayish"], "expected a date like 2026-11-03"),
    (["--since", "2026-03-02", "--until", "2026-03-01"], "before --since"),
    (["--prices", "no-such-prices.toml"], "no-such-prices.toml"),
    (["--discount", "150%"], "invalid discount"),
    (["--discount", "lots"], "invalid discount"),
    (["--breakdown", "person"], "person"),
    (["--order", "sideways"], "sideways"),
])
@pytest.mark.parametrize("kind", ["daily", "blocks"])
def test_bad_flags_give_a_clean_error(kind, args, message) -> None:
    result = tp("report", kind, "--no-import", "--json", *args)
    assert_clean_failure(result)
    assert message in result.stderr
    assert result.stdout == ""


def test_week_start_belongs_to_the_weekly_report() -> None:
    bad = tp("report", "weekly", "--no-import", "--json", "--week-start", "funday")
    assert_clean_failure(bad)
    assert "week start must be a day name" in bad.stderr
    other = tp("report", "daily", "--no-import", "--week-start", "sunday")
    assert other.exit_code == 2 and "No such option" in other.stderr


def test_usage_errors_exit_2_and_config_errors_exit_1() -> None:
    assert tp("report", "daily", "--no-import", "--since", "soon").exit_code == 2
    assert tp("report", "daily", "--no-import", "--tz", "Nowhere/Special").exit_code == 1


def test_json_output_is_only_json(data_set) -> None:
    result = ok("report", "daily", "--json", "--tz", "UTC")
    json.loads(result.stdout)
    assert result.stderr == ""
