"""Model-name normalisation: every spelling tools use maps to one price-book key, and nothing else does."""

from __future__ import annotations

import pytest

from tokenpulse.pricing import PriceBook
from tokenpulse.pricing.names import base_name, candidates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("claude-sonnet-4-5-20250929", ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]),
        ("anthropic/claude-sonnet-4-5", ["anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"]),
        # Bedrock: region, vendor and version decorations go; the date is tried before it is dropped
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0",
         ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]),
        # Vertex AI writes the date after an @
        ("claude-sonnet-4-5@20250929",
         ["claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"]),
        ("claude-4.5-sonnet-thinking",
         ["claude-4.5-sonnet-thinking", "claude-sonnet-4-5-thinking", "claude-sonnet-4-5"]),
        # a date followed by an effort suffix: effort goes, then the date
        ("gpt-5.2-2025-12-11-high", ["gpt-5.2-2025-12-11-high", "gpt-5.2-2025-12-11", "gpt-5.2"]),
        ("claude-3-5-haiku-latest", ["claude-3-5-haiku-latest", "claude-3-5-haiku"]),
        # already canonical (after lower-casing and trimming): one candidate, no repeats
        ("  CLAUDE-SONNET-4-5 ", ["claude-sonnet-4-5"]),
        ("gpt-5.4", ["gpt-5.4"]),
    ],
)
def test_candidates_most_specific_first(raw: str, expected: list[str]) -> None:
    assert list(candidates(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),  # dates are kept here
        ("claude-4-opus", "claude-opus-4"),                            # version-first, from 4 on
        ("claude-3.5-sonnet", "claude-3-5-sonnet"),                    # before 4 the order stays
        ("gpt-5.4-mini", "gpt-5.4-mini"),                              # dots only change for claude
        ("Gemini-2.5-Flash", "gemini-2.5-flash"),
        # a model whose own name ends in -vN is not a Bedrock id: DeepSeek V3 is not "deepseek"
        ("deepseek-v3", "deepseek-v3"),
        ("deepseek/deepseek-v3", "deepseek-v3"),
    ],
)
def test_base_name(raw: str, expected: str) -> None:
    assert base_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "priced_as"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("anthropic/claude-sonnet-4.5:thinking", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("vertex_ai/claude-opus-4-1@20250805", "claude-opus-4-1"),
        ("claude-opus-4.6", "claude-opus-4-6"),
        ("claude-4-5-sonnet", "claude-sonnet-4-5"),
        ("claude-4.5-sonnet-thinking", "claude-sonnet-4-5"),
        ("claude-4-opus", "claude-opus-4"),
        ("claude-3.5-haiku", "claude-3-5-haiku"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("claude-3-7-sonnet-20250219-thinking", "claude-3-7-sonnet"),
        ("claude-sonnet-4-5-thinking", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("claude-opus-4-6[1M]", "claude-opus-4-6"),
        ("CLAUDE-SONNET-4-5", "claude-sonnet-4-5"),
        ("  claude-haiku-4-5\n", "claude-haiku-4-5"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("GPT-5.4", "gpt-5.4"),
        ("gpt-5.4-pro", "gpt-5.4-pro"),            # not gpt-5.4
        ("gpt-5.1-codex-max-xhigh", "gpt-5.1-codex-max"),
        ("gpt-5.2-2025-12-11-high", "gpt-5.2"),
        ("o4-mini-high", "o4-mini"),
        ("gpt-5-codex-minimal", "gpt-5-codex"),
        ("openai/gpt-5.3-codex", "gpt-5.3-codex"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),  # not gemini-2.5-flash
    ],
)
def test_lookup_resolves_every_spelling(book: PriceBook, raw: str, priced_as: str) -> None:
    price = book.lookup(raw)
    assert price is not None, raw
    assert price.name == priced_as


@pytest.mark.parametrize(
    "raw",
    [
        "claude-sonnet",           # which Sonnet? never guess
        "claude",
        "sonnet",
        "claude-opus-4-2",         # not claude-opus-4
        "claude-haiku-4",          # not claude-haiku-4-5
        "claude-sonnet-4-5-extra",
        "gpt-5.3-codex-foo",       # not gpt-5.3-codex
        "gpt-5.4-turbo",           # not gpt-5.4
        "o3-mini",                 # not o3
        "gemini-2.5",              # not gemini-2.5-pro
        "gpt",
        "deepseek-v3",
        "",
        None,
    ],
)
def test_no_fuzzy_matching(book: PriceBook, raw: str | None) -> None:
    assert book.lookup(raw) is None
