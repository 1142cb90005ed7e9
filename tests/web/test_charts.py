"""Server-side SVG charts: parsed back as XML to check their structure, tooltips, ticks and escaping."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tokenpulse.money import format_usd
from tokenpulse.web.charts import CHART_CSS, burn, hbars, line_chart, nice_ticks, sparkline, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert('x')</script> & co"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    assert (root.get("role"), root.get("width")) == ("img", "100%")
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", ""))
    assert root.get("aria-label")
    return root


def classed(root: ET.Element, tag: str, *classes: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if set(classes) <= set(e.get("class", "").split())]


def tips(elements: list[ET.Element]) -> list[str]:
    return [e.find(f"{SVG}title").text for e in elements]


def texts(root: ET.Element, *classes: str) -> list[str]:
    return [e.text for e in classed(root, "text", *classes)]


DAYS = ["2026-11-03", "2026-11-04", "2026-11-05"]
SPEND = {"claude_code": [1_000_000, 0, 2_500_000], "codex": [500_000, 750_000, 0]}


def test_stacked_bars_have_one_rect_per_nonzero_value_with_exact_tooltips() -> None:
    root = parse(stacked_bars(DAYS, SPEND, title="Spend per day", unit="USD", formatter=format_usd))
    first, second = classed(root, "rect", "bar", "s1"), classed(root, "rect", "bar", "s2")
    assert tips(first) == ["2026-11-03 · claude_code · $1.00", "2026-11-05 · claude_code · $2.50"]
    assert tips(second) == ["2026-11-03 · codex · $0.50", "2026-11-04 · codex · $0.75"]
    assert texts(root, "tick", "y") == ["$0.00", "$1.00", "$2.00", "$3.00"]
    assert texts(root, "tick", "x") == ["11-03", "11-04", "11-05"]
    assert texts(root, "legend") == ["claude_code", "codex"]
    assert texts(root, "chart-title") == ["Spend per day"]
    # Stacked: codex sits on top of claude_code on the first day, and heights are proportional.
    a, b = first[0], second[0]
    assert float(b.get("y")) + float(b.get("height")) == pytest.approx(float(a.get("y")), abs=0.11)
    assert float(a.get("height")) / float(b.get("height")) == pytest.approx(2, abs=0.01)
    assert float(a.get("x")) == float(b.get("x"))
    assert "total $4.75" in root.get("aria-label")


def test_x_labels_are_thinned_to_fit() -> None:
    days = [f"2026-11-{d:02}" for d in range(1, 31)]
    root = parse(stacked_bars(days, {"tokens": list(range(1, 31))}, title="Tokens", unit="tokens"))
    labels = texts(root, "tick", "x")
    assert 5 <= len(labels) < 30 and labels[0] == "11-01"
    assert len(classed(root, "rect", "bar")) == 30
    assert texts(root, "tick", "y") == ["0", "10", "20", "30"]


@pytest.mark.parametrize(("top", "ticks"), [
    (2_500_000, [0, 1_000_000, 2_000_000, 3_000_000]), (100, [0, 25, 50, 75, 100]), (7, [0, 2, 4, 6, 8]),
    (0.37, [0, 0.1, 0.2, 0.3, 0.4]), (12_345, [0, 5_000, 10_000, 15_000]), (0, [0, 1])])
def test_nice_ticks(top, ticks) -> None:
    assert nice_ticks(top, integer=isinstance(top, int)) == ticks


def test_labels_are_escaped() -> None:
    markups = [
        stacked_bars(DAYS, {EVIL: [1, 2, 3]}, title=EVIL),
        line_chart(DAYS, {EVIL: [1, None, 3]}, title=EVIL),
        hbars([EVIL], [5], title=EVIL),
        burn(1, 2, 3, title=EVIL),
        sparkline([1, 2], label=EVIL),
    ]
    for markup in markups:
        assert "<script>" not in markup
        root = parse(markup)
        assert root.find(f"{SVG}title").text.startswith(EVIL)
        assert not list(root.iter(f"{SVG}script"))
    root = parse(markups[0])
    assert texts(root, "legend") == [EVIL]
    assert tips(classed(root, "rect", "bar"))[0] == f"2026-11-03 · {EVIL} · 1"


@pytest.mark.parametrize("markup", [
    stacked_bars([], {}, title="Spend"), stacked_bars(DAYS, {"a": [0, 0, 0]}, title="Spend"),
    line_chart([], {}, title="Spend"), line_chart(DAYS, {"a": [None, None, None]}, title="Spend"),
    hbars([], [], title="Spend"), burn(0, None, None, title="Spend")])
def test_empty_input_gives_a_valid_no_data_chart(markup: str) -> None:
    root = parse(markup)
    assert texts(root, "chart-empty") == ["No data"]
    assert root.get("aria-label") == "Spend: no data"
    assert not classed(root, "rect") and not classed(root, "path")


def test_output_is_deterministic() -> None:
    def all_charts() -> list[str]:
        return [stacked_bars(DAYS, dict(SPEND), title="t", formatter=format_usd),
                line_chart(DAYS, {"a": [1.5, None, 2.25]}, title="t"), hbars(["a", "b"], [3, 1], title="t"),
                sparkline([3, 1, 2]), burn(5, 10, 12, title="t")]

    assert all_charts() == all_charts()


def test_line_chart_breaks_at_gaps_and_has_point_tooltips() -> None:
    xs = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    root = parse(line_chart(xs, {"sonnet": [1.5, None, 3, 4], "gpt-5": [2, 2, 2, 2]}, title="Cost per 1M tokens",
                            formatter=lambda v: f"${v:.2f}"))
    (sonnet,), (gpt,) = classed(root, "path", "line", "s1"), classed(root, "path", "line", "s2")
    assert sonnet.get("d").count("M") == 2 and sonnet.get("d").count("L") == 1
    assert gpt.get("d").count("M") == 1 and gpt.get("d").count("L") == 3
    assert tips(classed(root, "circle", "point", "s1")) == [
        "2026-11-01 · sonnet · $1.50", "2026-11-03 · sonnet · $3.00", "2026-11-04 · sonnet · $4.00"]
    assert len(classed(root, "circle", "point", "s2")) == 4
    assert texts(root, "tick", "y") == ["$0.00", "$1.00", "$2.00", "$3.00", "$4.00"]


def test_hbars_scale_to_the_largest_value_and_shorten_long_labels() -> None:
    long = "claude-sonnet-4-5-20250929-with-a-long-suffix"
    root = parse(hbars(["gpt-5", long], [2_000_000, 8_000_000], title="Spend by model", formatter=format_usd))
    small, large = classed(root, "rect", "bar")
    assert float(large.get("width")) / float(small.get("width")) == pytest.approx(4, abs=0.01)
    assert tips([small, large]) == ["gpt-5 · $2.00", f"{long} · $8.00"]
    labels = classed(root, "text", "label")
    assert [e.text for e in labels] == ["gpt-5", long[:19] + "…"]
    assert texts(root, "value") == ["$2.00", "$8.00"]


def test_burn_shows_spent_forecast_and_the_budget_line() -> None:
    root = parse(burn(7_000_000, 10_000_000, 12_500_000, formatter=format_usd))
    (spent,), (forecast,) = classed(root, "rect", "burn-spent"), classed(root, "rect", "burn-forecast")
    (budget,) = classed(root, "line", "burn-budget")
    assert tips([spent, forecast, budget]) == [
        "spent · $7.00", "forecast to month end · $12.50", "budget · $10.00"]
    assert float(forecast.get("width")) / float(spent.get("width")) == pytest.approx(12.5 / 7, abs=0.01)
    assert float(spent.get("x")) + float(spent.get("width")) < float(budget.get("x1"))
    assert not classed(root, "rect", "burn-over")
    assert texts(root, "caption") == ["spent $7.00 · forecast $12.50 · budget $10.00"]
    over = parse(burn(11_000_000, 10_000_000, None, formatter=format_usd))
    assert len(classed(over, "rect", "burn-over")) == 1 and not classed(over, "rect", "burn-forecast")


def test_sparkline() -> None:
    root = parse(sparkline([1, 3, None, 2, 5], label="Spend, last 5 days"))
    (path,) = classed(root, "path", "line")
    assert path.get("d").count("M") == 2
    assert root.get("viewBox") == "0 0 100 24" and root.get("aria-label") == "Spend, last 5 days"
    assert not classed(parse(sparkline([])), "path")


def test_colours_come_from_the_stylesheet_only() -> None:
    markup = stacked_bars(DAYS, {f"s{i}": [1, 1, 1] for i in range(9)}, title="t")
    assert "#" not in markup and "fill=" not in markup and "style=" not in markup
    assert re.findall(r'class="bar (s\d)"', markup)[:9] == ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s1"]
    for i in range(1, 9):
        assert f".chart .s{i} {{ fill: var(--series-{i}); }}" in CHART_CSS
    light, dark = CHART_CSS.split("@media (prefers-color-scheme: dark)")
    light_palette = dict(re.findall(r"--series-(\d): (#[0-9a-f]{6});", light))
    dark_palette = dict(re.findall(r"--series-(\d): (#[0-9a-f]{6});", dark))
    assert sorted(light_palette) == sorted(dark_palette) == [str(i) for i in range(1, 9)]
    assert all(light_palette[i] != dark_palette[i] for i in light_palette)
    assert "url(" not in CHART_CSS and "http" not in markup.replace("http://www.w3.org/2000/svg", "")
