"""FOCUS 1.2 CSV from a real store: the spec's columns in order, exact list and effective costs, x_ columns."""

from __future__ import annotations

import csv
import io

from export_data import at

from tokenpulse.events import UsageEvent
from tokenpulse.pricing import Discount

# FOCUS 1.2's mandatory columns (FOCUS_Spec v1.2, specification/columns/*.md), written out independently.
MANDATORY = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
]
X_COLUMNS = ["x_Person", "x_Tool", "x_Provider", "x_Model", "x_Source", "x_Confidence", "x_Requests",
             "x_UnpricedRequests", "x_InputTokens", "x_OutputTokens", "x_CacheReadTokens", "x_CacheWriteTokens",
             "x_CacheWrite1hTokens", "x_ReasoningTokens", "x_ReportedCost", "x_DiscountRate"]


def rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader)
    return header, [dict(zip(header, r, strict=True)) for r in reader]


def test_header_has_every_mandatory_column_in_spec_order_then_x_columns(filled, export) -> None:
    header, _ = rows(export(filled, "focus")[0])
    assert len(MANDATORY) == 21
    spec = [c for c in header if not c.startswith("x_")]
    assert set(MANDATORY) <= set(spec)
    assert spec == sorted(spec)  # the spec presents its columns alphabetically
    assert {"ConsumedQuantity", "ConsumedUnit", "SkuId", "Tags", "ChargeFrequency", "ServiceSubcategory"} <= set(spec)
    assert header[len(spec):] == X_COLUMNS


def test_one_row_per_utc_day_person_tool_and_model_with_exact_costs(filled, export) -> None:
    data, count = export(filled, "focus", discount=Discount.parse("15%"))
    _, parsed = rows(data)
    assert count == len(parsed) == 4
    assert [(r["ChargePeriodStart"], r["x_Person"], r["x_Model"]) for r in parsed] == [
        ("2026-03-02T00:00:00Z", "ana", "claude-sonnet-4-5"),
        ("2026-03-02T00:00:00Z", "bob", "gpt-5"),
        ("2026-03-03T00:00:00Z", "<script>alert(1)</script>", "acme-model-9"),
        ("2026-03-03T00:00:00Z", "ana", "claude-sonnet-4-5"),
    ]
    ana, bob, unpriced, ana_next = parsed
    # a + b = 15000 + 1106 µ$; 16106 × 0.85 = 13690.1 -> 13690
    assert (ana["ListCost"], ana["EffectiveCost"], ana["BilledCost"], ana["ContractedCost"]) == (
        "0.016106", "0.013690", "0.013690", "0.013690")
    assert (bob["ListCost"], bob["EffectiveCost"]) == ("0.005500", "0.004675")
    assert (ana_next["ListCost"], ana_next["EffectiveCost"]) == ("0.000021", "0.000018")  # 17.85 -> 18
    assert (unpriced["ListCost"], unpriced["x_UnpricedRequests"], unpriced["x_Requests"]) == ("0.000000", "1", "1")
    assert (ana["x_InputTokens"], ana["x_OutputTokens"], ana["x_CacheReadTokens"], ana["x_CacheWriteTokens"],
            ana["x_CacheWrite1hTokens"], ana["x_ReasoningTokens"], ana["x_Requests"]) == (
        "1333", "107", "10005", "2000", "0", "0", "2")
    assert (ana["ConsumedQuantity"], ana["ConsumedUnit"], ana["PricingQuantity"], ana["PricingUnit"]) == (
        "13445", "Tokens", "13445", "Tokens")
    assert (ana["x_ReportedCost"], bob["x_ReportedCost"], ana["x_DiscountRate"]) == ("0.020000", "", "0.15")
    assert (bob["x_ReasoningTokens"], bob["x_Tool"], bob["x_Source"], bob["x_Confidence"]) == (
        "200", "codex", "gateway", "billed")


def test_descriptive_columns(filled, export) -> None:
    _, (ana, bob, unpriced, _) = rows(export(filled, "focus")[0])
    assert {k: ana[k] for k in ("ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceName",
                                "ServiceCategory", "ChargeCategory", "ChargeClass", "BillingCurrency",
                                "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "SkuId", "Tags")} == {
        "ProviderName": "Anthropic", "PublisherName": "Anthropic", "InvoiceIssuerName": "Anthropic",
        "ServiceName": "Claude Code", "ServiceCategory": "AI and Machine Learning", "ChargeCategory": "Usage",
        "ChargeClass": "", "BillingCurrency": "USD", "ChargePeriodEnd": "2026-03-03T00:00:00Z",
        "BillingPeriodStart": "2026-03-01T00:00:00Z", "BillingPeriodEnd": "2026-04-01T00:00:00Z",
        "SkuId": "anthropic/claude-sonnet-4-5", "Tags": '{"person":"ana","tool":"claude_code"}'}
    assert (bob["ProviderName"], bob["ServiceName"]) == ("OpenAI", "Codex")
    assert (ana["ListCost"], ana["EffectiveCost"], ana["x_DiscountRate"]) == ("0.016106", "0.016106", "0")
    assert unpriced["ProviderName"] == "acme"


def test_per_provider_discounts(filled, export) -> None:
    _, (ana, bob, _, _) = rows(export(filled, "focus", discount=Discount.parse("anthropic=10%,openai=5%"))[0])
    # 16106 × 0.9 = 14495.4 -> 14495; 5500 × 0.95 = 5225
    assert (ana["EffectiveCost"], ana["x_DiscountRate"], bob["EffectiveCost"], bob["x_DiscountRate"]) == (
        "0.014495", "0.1", "0.005225", "0.05")


def test_rows_of_different_confidence_are_never_merged(store, book, export) -> None:
    events = [UsageEvent(id=f"e{i}", ts=at("2026-03-02T12:00:00"), tool="claude_code", provider="anthropic",
                         model="claude-sonnet-4-5", person="ana", input_tokens=1, confidence=confidence,
                         source="local_log" if confidence == "estimated" else "vendor_api")
              for i, confidence in enumerate(["estimated", "billed", "estimated"])]
    for event in events:
        book.price(event)
    store.write_batch(events)
    _, parsed = rows(export(store, "focus")[0])
    assert [(r["x_Confidence"], r["x_Requests"], r["ListCost"]) for r in parsed] == [
        ("estimated", "2", "0.000006"), ("billed", "1", "0.000003")]  # sorted by source: local_log, vendor_api
