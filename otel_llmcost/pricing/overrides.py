"""User prices: the JSON file named by OTEL_LLMCOST_PRICING_FILE and ``set_price``.

File shape (prices in USD per 1M tokens, as numbers or numeric strings)::

    {
      "prices": [
        {"model": "my-finetuned-llama", "provider": "openai", "input": 0.2, "output": 0.6},
        {"model": "gpt-4o", "cache_read": "1.25", "input": "2.5", "output": "10"},
        {"model": "claude-sonnet-4-5", "discount": 15},
        {"provider": "azure", "discount": 10}
      ]
    }

An item either gives prices (``input`` and ``output`` required, any other price field of
the catalog optional: ``cache_read``, ``cache_write_5m``, ``cache_write_1h``, ``batch_input``,
``flex_output``, ``long_input``... plus ``long_context_threshold``, ``web_search_per_1k``,
``mode``, ``effective_date``), or a negotiated ``discount`` in percent off the catalog price,
for one ``model`` (all its dated versions too) or for every model of a ``provider``.
A price or discount that names a ``provider`` applies only to calls served by that provider
(``openai``, ``azure``, ``anthropic``, ``bedrock``, ``vertex_ai``, or the ``gen_ai.provider.name``);
one for ``azure`` also holds for Microsoft Foundry's calls (``azure_ai``, ``azure.ai.inference``).
A model id with a cloud's prefix (``azure/gpt-4o``, ``bedrock/...``, ``vertex_ai/...``) names its
provider: without one, the price holds for that cloud's calls (and for calls whose id says so).
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.pricing.entry import PRICE_FIELDS, STANDARD, TIERS, PriceEntry, parse_price, shown
from otel_llmcost.pricing.names import CATALOG_PROVIDERS, catalog_provider, cloud_of

logger = logging.getLogger("otel_llmcost.pricing")

META_FIELDS = {"model", "provider", "mode", "effective_date", "long_context_threshold", "web_search_per_1k"}
ALLOWED_FIELDS = META_FIELDS | set(PRICE_FIELDS) | {"discount"}
MAX_THRESHOLD = 1_000_000_000_000  # input tokens: the store keeps thresholds as UInt64
CUSTOM_PROVIDER = "custom"  # a user price without a provider: applies whoever serves the model


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

class OverrideError(ValueError):
    """An override that cannot be used; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Discount:
    model: str | None  # None: every model of ``provider``
    provider: str | None
    percent: Decimal
    origin: str


@dataclass(frozen=True)
class Overrides:
    entries: tuple[PriceEntry, ...] = ()
    discounts: tuple[Discount, ...] = ()


def load_file(path: Path) -> Overrides:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark some editors write is no JSON
    except OSError as exc:
        raise OverrideError(f"cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise OverrideError(
            f"it is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); save it as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise OverrideError(f"it is not valid JSON (a price file is JSON, not YAML): {exc}") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4300)
        raise OverrideError(f"a number in it cannot be read ({exc}); write prices in USD per 1M tokens") from None
    except RecursionError:
        raise OverrideError('its JSON is nested too deeply to be a price file {"prices": [ ... ]}') from None
    if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
        raise OverrideError('expected an object {"prices": [ ... ]} with a list of price items')
    if len(data) > 1:
        extra = ", ".join(sorted(str(key) for key in data if key != "prices"))
        raise OverrideError(f'unknown top-level key(s) {extra}: a price file is an object {{"prices": [ ... ]}} only')
    origin = f"override file {path}"
    file_date = date.fromtimestamp(path.stat().st_mtime).isoformat()
    entries, discounts = [], []
    for index, item in enumerate(data["prices"]):
        parsed = parse_item(item, f"prices[{index}]", origin, file_date)
        (discounts if isinstance(parsed, Discount) else entries).append(parsed)
    return Overrides(tuple(entries), tuple(discounts))


def _is_date(text: str) -> bool:
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)  # 2026-02-30 has the shape of a date, and is none
    except ValueError:
        return False
    return True


def parse_item(item: Any, where: str, origin: str, default_date: str) -> PriceEntry | Discount:
    if not isinstance(item, Mapping):
        raise OverrideError(f"{where} must be an object, got {item!r}")
    unknown = sorted(set(item) - ALLOWED_FIELDS)
    if unknown:
        raise OverrideError(
            f"{where} has unknown field(s) {', '.join(unknown)}; allowed: model, provider, discount, "
            "input, output, cache_read, cache_write_5m, cache_write_1h and the other catalog price fields"
        )
    model, provider = item.get("model"), item.get("provider")
    for name, value in (("model", model), ("provider", provider)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise OverrideError(f"{where}.{name} must be a non-empty string, got {value!r}")
    if provider is not None:
        _check_provider(provider, where, origin)
    try:
        if "discount" in item:
            return parse_discount(item, where, origin)
        return parse_entry(item, where, origin, default_date)
    except ValueError as exc:
        raise OverrideError(str(exc)) from None


_PROVIDER_NAMES = frozenset((*CATALOG_PROVIDERS, *CATALOG_PROVIDERS.values(), *sc.WELL_KNOWN_PROVIDERS))


# Names of the companies behind the providers, which no span carries as its provider: what the spans say
_COMPANY_NAMES = {
    "google": "gcp.gemini (the Gemini API) or gcp.vertex_ai (Vertex AI)",
    "gcp": "gcp.gemini (the Gemini API) or gcp.vertex_ai (Vertex AI)",
    "aws": "aws.bedrock",
    "amazon": "aws.bedrock",
    "microsoft": "azure (Azure OpenAI and Microsoft Foundry) or azure.ai.inference (Foundry only)",
    "claude": "anthropic",
    "grok": "x_ai",  # not groq, the company whose name it is closest to
}


def _check_provider(provider: str, where: str, origin: str) -> None:
    """A provider spelt like a known one but not quite (``openia``) would never match a call: say so. A
    company's name (``google``, ``aws``) is said too, as a warning: other names pass, since spans may carry
    a provider name of their own (a gateway's, another instrumentation's)."""
    name = provider.strip().lower()
    if name in _PROVIDER_NAMES:
        return
    meant = _COMPANY_NAMES.get(name)
    if meant is not None:
        logger.warning(
            "%s.provider %r is no provider name otel-llmcost's spans carry, so its calls do not get this item: "
            "did you mean %s? It applies only to calls whose gen_ai.provider.name is %r",
            where if where == origin else f"{origin}: {where}",
            provider,
            meant,
            provider,
        )
        return
    nearest = difflib.get_close_matches(name, sorted(_PROVIDER_NAMES), n=2, cutoff=0.75)
    if nearest:
        raise OverrideError(
            f"{where}.provider {provider!r} is not a provider name: did you mean {' or '.join(nearest)}? A price "
            "applies to the calls whose gen_ai.provider.name (or catalog provider) it names exactly"
        )


def _cloud_named(model: Any) -> str | None:
    """A model id given without a provider that names a cloud (``azure/gpt-4o``, as ``pricing list`` shows
    Azure's entries): the price is that cloud's, not OpenAI's gpt-4o too."""
    return cloud_of(model) if isinstance(model, str) else None


def parse_discount(item: Mapping[str, Any], where: str, origin: str) -> Discount:
    priced = sorted(set(item) & set(PRICE_FIELDS))
    if priced:
        raise OverrideError(f"{where} gives both a discount and prices ({', '.join(priced)}): use one or the other")
    if item.get("model") is None and item.get("provider") is None:
        raise OverrideError(f"{where} has a discount but neither a model nor a provider to apply it to")
    percent = parse_price(item["discount"], f"{where}.discount")
    if percent > 100:
        raise OverrideError(f"{where}.discount is a percentage from 0 to 100, got {item['discount']!r}")
    model = item.get("model")
    return Discount(model, catalog_provider(item.get("provider")) or _cloud_named(model), percent, origin)


def parse_entry(item: Mapping[str, Any], where: str, origin: str, default_date: str) -> PriceEntry:
    if item.get("model") is None:
        raise OverrideError(f"{where} gives prices but no model")
    missing = [name for name in ("input", "output") if name not in item]
    if missing:
        raise OverrideError(f"{where} ({item['model']}) needs {' and '.join(missing)} (USD per 1M tokens)")
    threshold = item.get("long_context_threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 < threshold <= MAX_THRESHOLD
    ):
        raise OverrideError(
            f"{where}.long_context_threshold must be a whole number of input tokens from 1 to "
            f"{MAX_THRESHOLD:,} (e.g. 200000), got {shown(threshold)}"
        )
    long_prices = [name for name in PRICE_FIELDS if name in item and "long_" in name]
    if long_prices and threshold is None:
        raise OverrideError(
            f"{where} ({item['model']}) gives {', '.join(long_prices)} but no long_context_threshold: "
            "add the input tokens past which the long-context prices apply (e.g. 200000)"
        )
    # A tier is offered only where its input price is listed, and long context applies only where a
    # long-context input price is; the other prices of either are derived when absent, never used alone.
    for prefix in (*(f"{tier}_" for tier in TIERS if tier != STANDARD), "long_"):
        given = [
            name
            for name in PRICE_FIELDS
            # a tier's long-context prices (flex_long_input) also apply only where long_input is listed
            if name in item and (name.startswith(prefix) or (prefix == "long_" and "_long_" in name))
        ]
        if given and f"{prefix}input" not in item:
            raise OverrideError(
                f"{where} ({item['model']}) gives {', '.join(given)} but not {prefix}input: those prices apply "
                f"only with {prefix}input (USD per 1M tokens); add it"
            )
    effective_date = item.get("effective_date", default_date)
    if isinstance(effective_date, date):  # set_price(..., effective_date=date(2026, 1, 1))
        effective_date = effective_date.isoformat()
    if not isinstance(effective_date, str) or not _is_date(effective_date):
        raise OverrideError(f"{where}.effective_date must be a date as YYYY-MM-DD, got {effective_date!r}")
    mode = item.get("mode", "chat")
    if not isinstance(mode, str) or not mode:
        raise OverrideError(f"{where}.mode must be a text such as chat, responses or embedding, got {mode!r}")
    web_search = item.get("web_search_per_1k")
    return PriceEntry(
        key=item["model"],
        provider=catalog_provider(item.get("provider")) or _cloud_named(item["model"]) or CUSTOM_PROVIDER,
        mode=mode,
        prices={name: parse_price(item[name], f"{where}.{name}") for name in PRICE_FIELDS if name in item},
        long_context_threshold=threshold,
        web_search_per_1k=None if web_search is None else parse_price(web_search, f"{where}.web_search_per_1k"),
        source=origin,
        effective_date=effective_date,
    )
