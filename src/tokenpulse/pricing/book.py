"""The price book: exact per-request cost from token counts.

Rates are held as integer pico-USD per token, so `cost_micros()` is exact integer arithmetic
with one rounding (half to even) to micro-USD at the end. The rules, as vendors bill them:

- cache writes are priced by TTL (5-minute and 1-hour), cache reads separately;
- reasoning tokens are part of output and priced as output unless the model says otherwise;
- long context: when a request's whole prompt (input + cache reads + cache writes) exceeds the
  model's threshold, *every* token of that request is billed at the long-context rates (not just
  the tokens beyond the threshold);
- multipliers: fast mode, US-only inference, service tiers (batch, flex, priority); server-side
  web searches are billed per request on top.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from ..events import UsageEvent
from ..money import PICOS_PER_MICRO, round_half_even_div
from .names import candidates

RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "reasoning")
_PICO_PER_USD_PER_MTOK = Decimal(1_000_000)  # 1 USD per million tokens = 1e6 pico-USD per token


@dataclass(frozen=True, slots=True)
class Rates:
    """Integer pico-USD per token for each kind of token."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    reasoning: int


@dataclass(frozen=True)
class ModelPrice:
    name: str
    provider: str
    rates: Rates
    long_context_above: int | None = None
    long_context: Rates | None = None
    multipliers: Mapping[str, Fraction] = field(default_factory=dict)
    """`fast`, `geo_us` and `tier:<service tier>` -> multiplier."""
    web_search_pico: int = 0
    source: str = "bundled"

    def rates_for(self, total_input_tokens: int) -> Rates:
        if self.long_context is not None and self.long_context_above is not None \
                and total_input_tokens > self.long_context_above:
            return self.long_context
        return self.rates


@dataclass
class PriceEntry:
    """One model as read from a price file: USD per million tokens, before defaults are applied."""

    name: str
    provider: str
    rates: dict[str, Decimal] = field(default_factory=dict)
    long_context_above: int | None = None
    long_context: dict[str, Decimal] = field(default_factory=dict)
    multipliers: dict[str, Decimal] = field(default_factory=dict)
    web_search_per_1k: Decimal | None = None
    aliases: list[str] = field(default_factory=list)
    source: str = "bundled"
    gap_filler: bool = False
    """Read from a reseller's key (`deepinfra/…`): only used for a model no other entry prices."""

    def overlay(self, other: PriceEntry) -> PriceEntry:
        """This entry with every field `other` sets replaced (a price update is a field-level patch)."""
        return PriceEntry(
            name=self.name,
            provider=other.provider or self.provider,
            rates={**self.rates, **other.rates},
            long_context_above=other.long_context_above or self.long_context_above,
            long_context={**self.long_context, **other.long_context},
            multipliers={**self.multipliers, **other.multipliers},
            web_search_per_1k=other.web_search_per_1k if other.web_search_per_1k is not None
            else self.web_search_per_1k,
            aliases=sorted({*self.aliases, *other.aliases}),
            source=f"{self.source}+{other.source}",
        )


def _pico(usd_per_mtok: Decimal) -> int:
    return int((usd_per_mtok * _PICO_PER_USD_PER_MTOK).to_integral_value())


def _complete_rates(provider: str, given: Mapping[str, Decimal]) -> Rates:
    """Fill missing cache/reasoning prices by the vendor's rule (see prices.toml)."""
    inp = given["input"]
    out = given["output"]
    if provider == "anthropic":
        write_5m = given.get("cache_write_5m", inp * Decimal("1.25"))
        write_1h = given.get("cache_write_1h", inp * 2)
        read = given.get("cache_read", inp * Decimal("0.1"))
    else:
        write_5m = given.get("cache_write_5m", inp)
        write_1h = given.get("cache_write_1h", write_5m)
        read = given.get("cache_read", inp)
    return Rates(
        input=_pico(inp), output=_pico(out), cache_write_5m=_pico(write_5m),
        cache_write_1h=_pico(write_1h), cache_read=_pico(read),
        reasoning=_pico(given.get("reasoning", out)),
    )


def build_model_price(entry: PriceEntry) -> ModelPrice:
    long_context = None
    if entry.long_context_above is not None and "input" in entry.long_context:
        lc = dict(entry.long_context)
        lc.setdefault("output", entry.rates["output"])
        long_context = _complete_rates(entry.provider, lc)
    return ModelPrice(
        name=entry.name,
        provider=entry.provider,
        rates=_complete_rates(entry.provider, entry.rates),
        long_context_above=entry.long_context_above if long_context else None,
        long_context=long_context,
        multipliers={k: Fraction(v) for k, v in entry.multipliers.items()},
        web_search_pico=_pico(entry.web_search_per_1k * 1000) if entry.web_search_per_1k else 0,
        source=entry.source,
    )


class PriceBook:
    """Model prices, looked up by any spelling of a model id, with a content-derived version."""

    def __init__(self, entries: Mapping[str, PriceEntry], as_of: str, sources: Iterable[str] = (),
                 files: Iterable[Path] = ()):
        self.as_of = as_of
        self.sources = list(sources)
        self.files = list(files)
        """The price files applied over the bundled table (a parse worker rebuilds the book from them)."""
        self.entries = dict(entries)
        self.models: dict[str, ModelPrice] = {}
        self._names: dict[str, ModelPrice] = {}
        for name, entry in sorted(self.entries.items()):
            if "input" not in entry.rates or "output" not in entry.rates:
                continue
            price = build_model_price(entry)
            self.models[name] = price
            for alias in (name, *entry.aliases):
                self._names.setdefault(alias.lower(), price)
        self.version = f"{as_of}.{self._digest()}"
        self._lookup_cache: dict[str, ModelPrice | None] = {}

    def _digest(self) -> str:
        h = hashlib.sha256()
        for name, p in sorted(self.models.items()):
            h.update(repr((name, p.provider, p.rates, p.long_context_above, p.long_context,
                           sorted(p.multipliers.items()), p.web_search_pico)).encode())
        return h.hexdigest()[:10]

    def lookup(self, model: str | None) -> ModelPrice | None:
        """The price for a reported model id, or None when no spelling of it is known."""
        if not model:
            return None
        try:
            return self._lookup_cache[model]
        except KeyError:
            pass
        found = next((self._names[c] for c in candidates(model) if c in self._names), None)
        self._lookup_cache[model] = found
        return found

    def price(self, event: UsageEvent) -> None:
        """Set the event's list cost, the model it was priced as and this book's version.

        An unknown model leaves `cost_micros` None (reported as unpriced, never as $0). A vendor's bill
        (`confidence="billed"` with a reported cost) is the event's cost, whatever its tokens would cost at
        list price: billed figures are what totals count."""
        price = self.lookup(event.model)
        event.price_version = self.version
        billed = event.reported_cost_micros if event.confidence == "billed" else None
        if price is None:
            event.cost_micros = billed
            event.priced_model = None
            return
        event.priced_model = price.name
        if event.provider is None:  # so per-provider discounts apply to events that did not say
            event.provider = price.provider
        event.cost_micros = billed if billed is not None else cost_micros(event, price)


def cost_micros(event: UsageEvent, price: ModelPrice) -> int:
    """The request's list cost in micro-USD: exact in pico-USD, rounded once, half to even."""
    cache_write = event.cache_write_tokens
    output = event.output_tokens
    r = price.rates_for(event.input_tokens + event.cache_read_tokens + cache_write)
    write_1h = min(event.cache_write_1h_tokens, cache_write)
    reasoning = min(event.reasoning_tokens, output)
    pico = (
        event.input_tokens * r.input
        + (cache_write - write_1h) * r.cache_write_5m
        + write_1h * r.cache_write_1h
        + event.cache_read_tokens * r.cache_read
        + (output - reasoning) * r.output
        + reasoning * r.reasoning
        + event.web_search_requests * price.web_search_pico
    )
    multiplier = _multiplier(event, price) if price.multipliers else None
    if multiplier is None:
        return round_half_even_div(pico, PICOS_PER_MICRO)
    web = event.web_search_requests * price.web_search_pico  # per-request fees are not multiplied
    return round_half_even_div(
        (pico - web) * multiplier.numerator + web * multiplier.denominator,
        multiplier.denominator * PICOS_PER_MICRO,
    )


def _multiplier(event: UsageEvent, price: ModelPrice) -> Fraction | None:
    """The product of the multipliers that apply to this request, or None when none does."""
    m = price.multipliers
    result = None
    if event.speed == "fast" and "fast" in m:
        result = m["fast"]
    if event.inference_geo == "us" and "geo_us" in m:
        result = m["geo_us"] * (result or 1)
    if event.service_tier and (tier := m.get(f"tier:{event.service_tier}")) is not None:
        result = tier * (result or 1)
    return result
