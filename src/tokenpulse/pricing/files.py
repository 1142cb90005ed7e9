"""Reading price files: the bundled TOML table and LiteLLM's `model_prices_and_context_window.json`.

Both become `PriceEntry` objects (USD per million tokens, as Decimal). A supplied file patches the
bundled table field by field: a LiteLLM entry that gives only input and output prices keeps the
bundled cache, long-context and multiplier rules for that model.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import PriceDataError
from .book import RATE_FIELDS, PriceBook, PriceEntry
from .names import base_name

BUNDLED = "prices.toml"
_MULTIPLIER_KEYS = ("fast", "geo_us")


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise PriceDataError(f"{where}: expected a price, got {value!r}")
    try:
        # Floats (JSON numbers) go through repr so 3e-06 is exactly 0.000003, not its binary neighbour.
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise PriceDataError(f"{where}: expected a price, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise PriceDataError(f"{where}: expected a non-negative price, got {value!r}")
    return result


# --- the tokenpulse TOML format -------------------------------------------------------------------


def parse_toml_table(data: Mapping[str, Any], source: str) -> tuple[str | None, dict[str, PriceEntry]]:
    as_of = str(data["as_of"]) if "as_of" in data else None
    models = data.get("models")
    if not isinstance(models, Mapping):
        raise PriceDataError(f"{source}: no [models] table")
    entries: dict[str, PriceEntry] = {}
    for name, spec in models.items():
        where = f"{source}: model {name!r}"
        if not isinstance(spec, Mapping):
            raise PriceDataError(f"{where}: expected a table")
        entry = PriceEntry(name=name.lower(), provider=str(spec.get("provider", "")), source=source)
        for key in RATE_FIELDS:
            if key in spec:
                entry.rates[key] = _decimal(spec[key], f"{where}, field {key!r}")
        if "long_context" in spec:
            lc = spec["long_context"]
            above = lc.get("above") if isinstance(lc, Mapping) else None
            if not isinstance(above, int) or isinstance(above, bool) or above <= 0:
                raise PriceDataError(f"{where}: long_context needs a positive integer `above`")
            entry.long_context_above = lc["above"]
            for key in RATE_FIELDS:
                if key in lc:
                    entry.long_context[key] = _decimal(lc[key], f"{where}, long_context.{key}")
        for key in _MULTIPLIER_KEYS:
            if key in spec:
                entry.multipliers[key] = _decimal(spec[key], f"{where}, field {key!r}")
        tiers = spec.get("tiers") or {}
        if not isinstance(tiers, Mapping):
            raise PriceDataError(f"{where}: `tiers` must be a table such as {{ batch = \"0.5\" }}")
        for tier, value in tiers.items():
            entry.multipliers[f"tier:{tier}"] = _decimal(value, f"{where}, tiers.{tier}")
        if "web_search_per_1k" in spec:
            entry.web_search_per_1k = _decimal(spec["web_search_per_1k"], f"{where}, web_search_per_1k")
        aliases = spec.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise PriceDataError(f"{where}: `aliases` must be a list of model ids")
        entry.aliases = [a.lower() for a in aliases]
        entries[entry.name] = entry
    return as_of, entries


# --- LiteLLM's model_prices_and_context_window.json -----------------------------------------------

_LITELLM_RATES = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_read_input_token_cost": "cache_read",
    "output_cost_per_reasoning_token": "reasoning",
}
_LITELLM_TIERS = {"batches": "batch", "flex": "flex", "priority": "priority"}
_ABOVE = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")
_PROVIDER_NAMES = {"vertex_ai-language-models": "google", "gemini": "google", "vertex_ai": "google"}
# When several LiteLLM keys name the same model, the vendor's own API wins over resellers.
_PROVIDER_RANK = ["anthropic", "openai", "gemini", "vertex_ai-language-models", "vertex_ai",
                  "bedrock_converse", "bedrock", "azure"]
_CHAT_MODES = {None, "chat", "responses", "completion"}
_PER_MTOK = Decimal(1_000_000)  # LiteLLM prices are USD per token


def _litellm_entry(key: str, spec: Mapping[str, Any], source: str) -> PriceEntry | None:
    if not isinstance(spec, Mapping) or spec.get("mode") not in _CHAT_MODES:
        return None
    if "input_cost_per_token" not in spec or "output_cost_per_token" not in spec:
        return None
    where = f"{source}: model {key!r}"
    provider = str(spec.get("litellm_provider", ""))
    entry = PriceEntry(name=base_name(key), provider=_PROVIDER_NAMES.get(provider, provider), source=source)
    for field_name, rate in _LITELLM_RATES.items():
        if field_name in spec:
            entry.rates[rate] = _decimal(spec[field_name], f"{where}, field {field_name!r}") * _PER_MTOK
    for field_name in spec:
        match = _ABOVE.match(field_name)
        if match:
            k = match.group(1)
            entry.long_context_above = int(k) * 1000
            for suffix_field, rate in (
                (f"input_cost_per_token_above_{k}k_tokens", "input"),
                (f"output_cost_per_token_above_{k}k_tokens", "output"),
                # (a long-context cache-write price only counts beside a standard one; LiteLLM lists some
                # Gemini models with the former alone, below the standard write price)
                *([(f"cache_creation_input_token_cost_above_{k}k_tokens", "cache_write_5m")]
                  if "cache_creation_input_token_cost" in spec else []),
                (f"cache_creation_input_token_cost_above_1hr_above_{k}k_tokens", "cache_write_1h"),
                (f"cache_read_input_token_cost_above_{k}k_tokens", "cache_read"),
            ):
                if suffix_field in spec:
                    entry.long_context[rate] = (
                        _decimal(spec[suffix_field], f"{where}, field {suffix_field!r}") * _PER_MTOK)
            break
    extras = spec.get("provider_specific_entry") or {}
    if isinstance(extras, Mapping):
        if "fast" in extras:
            entry.multipliers["fast"] = _decimal(extras["fast"], f"{where}, provider_specific_entry.fast")
        if "us" in extras:
            entry.multipliers["geo_us"] = _decimal(extras["us"], f"{where}, provider_specific_entry.us")
    base_input = entry.rates["input"]
    for suffix, tier in _LITELLM_TIERS.items():
        tier_field = f"input_cost_per_token_{suffix}"
        if tier_field in spec and base_input > 0:
            entry.multipliers[f"tier:{tier}"] = (
                _decimal(spec[tier_field], f"{where}, field {tier_field!r}") * _PER_MTOK / base_input)
    search = spec.get("search_context_cost_per_query")
    if isinstance(search, Mapping) and "search_context_size_medium" in search:
        entry.web_search_per_1k = _decimal(
            search["search_context_size_medium"], f"{where}, field 'search_context_cost_per_query'") * 1000
    return entry


def parse_litellm(data: Mapping[str, Any], source: str) -> dict[str, PriceEntry]:
    if not isinstance(data, Mapping):
        raise PriceDataError(f"{source}: expected a JSON object of model -> prices")
    chosen: dict[str, tuple[int, PriceEntry]] = {}
    for key, spec in data.items():
        if key == "sample_spec":
            continue
        entry = _litellm_entry(key, spec, source)
        if entry is None:
            continue
        raw_provider = str(spec.get("litellm_provider", ""))
        rank = _PROVIDER_RANK.index(raw_provider) if raw_provider in _PROVIDER_RANK else len(_PROVIDER_RANK)
        if key.lower() != entry.name:
            # A prefixed or decorated key only fills a gap; the vendor's own (`deepseek/…` from
            # provider deepseek) before resellers.
            entry.gap_filler = True
            rank += 50 if key.lower().startswith(f"{raw_provider}/") else 100
        if entry.name not in chosen or rank < chosen[entry.name][0]:
            chosen[entry.name] = (rank, entry)
    return {name: entry for name, (_, entry) in chosen.items()}


# --- putting a book together ----------------------------------------------------------------------


def bundled_table() -> tuple[str, dict[str, PriceEntry]]:
    text = resources.files("tokenpulse.pricing").joinpath(BUNDLED).read_text(encoding="utf-8")
    as_of, entries = parse_toml_table(tomllib.loads(text), "bundled")
    return as_of or "unknown", entries


def read_price_file(path: Path) -> tuple[str | None, dict[str, PriceEntry]]:
    """A LiteLLM JSON file or a tokenpulse TOML table."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceDataError(f"cannot read price file {path}: {exc.strerror}") from None
    source = path.name
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PriceDataError(f"{path}: not a valid TOML price table: {exc}") from None
        as_of, entries = parse_toml_table(data, source)
        return as_of, entries
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PriceDataError(f"{path}: not valid JSON: {exc}") from None
    return None, parse_litellm(data, source)


def merge_entries(base: dict[str, PriceEntry], update: Mapping[str, PriceEntry]) -> dict[str, PriceEntry]:
    """Patch `base` with `update`, field by field.

    An updated name that is not in `base` but resolves to a base model (a dated id, say) starts from
    that model's entry, so rules the update does not state (long context, cache TTLs) carry over."""
    merged = dict(base)
    probe = PriceBook(base, as_of="probe")
    for name, entry in update.items():
        if entry.gap_filler and (name in merged or probe.lookup(name) is not None):
            continue  # a reseller's price never replaces the vendor's
        if name in merged:
            merged[name] = merged[name].overlay(entry)
            continue
        resolved = probe.lookup(name)
        if resolved is not None and resolved.name in base:
            start = base[resolved.name]
            merged[name] = PriceEntry(name=name, provider=start.provider, rates=dict(start.rates),
                                      long_context_above=start.long_context_above,
                                      long_context=dict(start.long_context),
                                      multipliers=dict(start.multipliers),
                                      web_search_per_1k=start.web_search_per_1k,
                                      source=start.source).overlay(entry)
        else:
            merged[name] = entry
    return merged


def load_price_book(extra_files: Iterable[Path] = ()) -> PriceBook:
    """The bundled table, patched by each supplied file in order."""
    extra_files = list(extra_files)
    as_of, entries = bundled_table()
    sources = ["bundled"]
    for path in extra_files:
        file_as_of, update = read_price_file(Path(path))
        entries = merge_entries(entries, update)
        sources.append(str(path))
        if file_as_of:
            as_of = max(as_of, file_as_of)
    return PriceBook(entries, as_of=as_of, sources=sources, files=[Path(p) for p in extra_files])
