"""The price catalog at run time: ``catalog.json``, the user's overrides, and model matching.

``find_price`` runs on every LLM call, so it is an ``lru_cache`` over (model, provider):
a repeated lookup is a dict hit. Everything behind it loads lazily on the first lookup and
is rebuilt only when overrides change.

Matching order for one model id, first hit wins: the user's prices, then the catalog;
within each, the exact id (gateway prefix stripped, lowercase), a Claude Bedrock profile's listed
sibling geographies (the catalog's only), the id without a Bedrock geography, then the model family
(no date, version or ``@`` suffix). Within a hit, the entry
of the cloud the id names wins (``bedrock/...``, ``azure/...``, a Bedrock or Vertex id's shape: that
cloud bills the call, even through a gateway), else the provider that served the call's, else the
model maker's own list price.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.pricing.entry import COMPONENTS, PRICE_FIELDS, PriceEntry
from otel_llmcost.pricing.names import (
    CLOUDS,
    MAKERS,
    OTHER_LIST,
    PART_OF,
    PREFERENCE,
    UPSTREAM,
    ModelNames,
    bare_id,
    base_name,
    catalog_provider,
    is_regional,
    model_names,
)
from otel_llmcost.pricing.overrides import CUSTOM_PROVIDER, Discount, OverrideError, Overrides, load_file, parse_item

logger = logging.getLogger("otel_llmcost.pricing")

CATALOG_PATH = Path(__file__).with_name("catalog.json")
_DATE_IN_KEY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


class EntryIndex:
    """Entries by exact id and by family name, each split by provider.

    For the catalog (``latest_first=False``) an id spelled without a gateway prefix wins over
    the same id with one (``us.anthropic.x`` over ``bedrock/us.anthropic.x``), else the first
    listed. The user's prices come ``latest_first``: the newest ``set_price`` or file item for
    an id wins, whatever its spelling. ``any_provider``: an entry of any provider is found for a
    provider that has none (the user's: a price given without a provider holds for every call);
    the catalog's are found only for the provider named, its upstream or the model's maker.
    """

    def __init__(self, entries: Iterable[PriceEntry], latest_first: bool = False, any_provider: bool = True) -> None:
        self.any_provider = any_provider
        self.by_id: dict[str, dict[str, PriceEntry]] = {}
        families: dict[str, dict[str, list[tuple[int, PriceEntry]]]] = {}
        for position, entry in enumerate(entries):
            name, _ = bare_id(entry.key)
            by_provider = self.by_id.setdefault(name, {})
            held = by_provider.get(entry.provider)
            if held is None or (not latest_first and entry.key.lower() == name and held.key.lower() != name):
                by_provider[entry.provider] = entry
            families.setdefault(base_name(name), {}).setdefault(entry.provider, []).append((position, entry))
        self.by_family = {
            family: {
                provider: min(group, key=functools.partial(_family_rank, family, latest_first))[1]
                for provider, group in by_provider.items()
            }
            for family, by_provider in families.items()
        }

    def lookup(
        self, names: ModelNames, provider: str | None, exact: bool = False, siblings: bool = False
    ) -> PriceEntry | None:
        """The entry for ``names`` (by id, then by family unless ``exact``), preferring ``provider``'s;
        ``siblings``: a Bedrock profile's other geographies too, after its own (the catalog's prices)."""
        candidates = names.candidates
        if siblings and names.siblings:
            candidates = (candidates[0], *((sibling, False) for sibling in names.siblings), *candidates[1:])
        hits = [
            hit
            for name, is_family in candidates
            if not (is_family and exact) and (hit := (self.by_family if is_family else self.by_id).get(name))
        ]
        if provider is not None:
            other = OTHER_LIST.get(provider)
            for hit in hits:
                if provider in hit:
                    return hit[provider]
                if other in hit:  # Azure's other price list
                    return hit[other]
        # No entry of the provider that served it (a gateway, a reseller, or none named): the model
        # maker's own price, even by family, over a cloud's for the exact id
        upstream = UPSTREAM.get(provider or "")
        for hit in hits:
            for maker in (upstream, *MAKERS) if upstream else MAKERS:
                if maker in hit:
                    return hit[maker]
        # No maker's price either: another reseller's would be a guess (gpt-oss-120b at Azure's price on a
        # self-hosted vLLM, or on OpenRouter, which charges its own). With no provider named, the likeliest.
        if not hits or (provider is not None and not self.any_provider):
            return None
        return _preferred(hits[0], provider)


def _family_rank(
    family: str, latest_first: bool, item: tuple[int, PriceEntry]
) -> tuple[bool, bool, int, int | str]:
    """Which of several ids of one family prices an unknown sibling: the undated alias
    (``gpt-4o``), else a non-regional id, else the newest dated one; on a tie the key
    (catalog) or the latest price (the user's)."""
    position, entry = item
    name, _ = bare_id(entry.key)
    dated = _DATE_IN_KEY.search(name)
    tie = position if latest_first else entry.key
    return (name != family, is_regional(name), -int("".join(dated.groups())) if dated else 0, tie)


def _preferred(hit: dict[str, PriceEntry], provider: str | None) -> PriceEntry:
    for candidate in (UPSTREAM.get(provider or ""), *PREFERENCE):
        if candidate in hit:
            return hit[candidate]
    return hit[min(hit)]


@dataclass(frozen=True)
class _Catalog:
    metadata: dict[str, Any]
    entries: tuple[PriceEntry, ...]
    index: EntryIndex


@dataclass(frozen=True)
class _Prices:
    catalog: _Catalog
    user: EntryIndex
    user_entries: tuple[PriceEntry, ...]
    # (name, is_family, provider or None) -> discount; a family's name is the model's without date or version
    model_discounts: dict[tuple[str, bool, str | None], Discount]
    provider_discounts: dict[str, Discount]

    def find(self, model: str, provider: str | None) -> PriceEntry | None:
        names = model_names(model)
        wanted = catalog_provider(provider) or names.provider_hint
        named_cloud = names.provider_hint if names.provider_hint in CLOUDS else None
        # A user price names a provider only to restrict itself to that provider's calls (not a call whose
        # provider is unknown): the provider that served the call, the one it is part of, or the cloud its id
        # names (azure/gpt-4o through a LiteLLM proxy; not a gateway's spelling such as Groq's openai/gpt-oss-120b).
        # Where the user's price for this call's provider is another provider's, their price for every
        # provider is looked up. A price for a family's name (gpt-4o) prices its dated versions too, but for
        # those the catalog prices apart from the family (gpt-4o-2024-05-13 at $5, where gpt-4o is $2.50);
        # a price for one dated id (gpt-4o-2024-05-13) prices only that id, or a model the catalog lacks.
        allowed = (CUSTOM_PROVIDER, wanted, PART_OF.get(wanted or ""), named_cloud)
        # the cloud an id names first, then the provider that served the call, then no provider
        for looked_up in dict.fromkeys(p for p in (named_cloud, wanted, CUSTOM_PROVIDER) if p):
            entry = self.user.lookup(names, looked_up)
            if entry is None or entry.provider not in allowed:
                continue
            if (
                self.user.lookup(names, looked_up, exact=True) is entry
                or (_names_a_family(entry.key) and not self._priced_apart(names, wanted, entry.key))
                or self._catalog_entry(names, wanted, named_cloud) is None
            ):
                return entry
        entry = self._catalog_entry(names, wanted, named_cloud)
        if entry is None:
            return None
        discount = self.discount_for(names, wanted or entry.provider, named_cloud)
        return entry if discount is None else entry.discounted(discount.percent, discount.origin)

    def _catalog_entry(
        self, names: ModelNames, wanted: str | None, named_cloud: str | None
    ) -> PriceEntry | None:
        """The catalog's entry for the cloud the id names (a Bedrock, Vertex or Azure id through an
        OpenAI-compatible gateway, whose calls are named openai: the cloud bills it, at its own rates, not
        the model maker's list price), else for the provider that served the call, else for the one the
        id names (a gateway's spelling, openai/gpt-oss-120b)."""
        lookup = functools.partial(self.catalog.index.lookup, names, siblings=True)
        if named_cloud is not None and named_cloud != wanted and named_cloud != PART_OF.get(wanted or ""):
            entry = lookup(named_cloud)
            if entry is not None:
                return entry
        entry = lookup(wanted)
        hint = names.provider_hint
        if entry is None and hint and hint != wanted:
            entry = lookup(hint)
        return entry

    def _priced_apart(self, names: ModelNames, wanted: str | None, family: str) -> bool:
        """Whether the catalog has a price of its own for this very id that differs from ``family``'s."""
        own = self.catalog.index.lookup(names, wanted, exact=True)
        if own is None or _names_a_family(own.key):
            return False
        listed = self.catalog.index.lookup(model_names(family), own.provider, exact=True)
        if listed is None or listed.provider != own.provider:
            return False
        # the standard prices: a snapshot listing a tier its family's entry lacks is not priced apart
        return any(listed.prices.get(name) != own.prices.get(name) for name in COMPONENTS)

    def discount_for(self, names: ModelNames, served_by: str, named: str | None = None) -> Discount | None:
        """The discount on a model served by ``served_by`` (a catalog provider name). It is the provider
        that serves the call, not the one whose list price the call falls back to: an Azure discount
        holds for Claude on Foundry, priced at Anthropic's rate, and an Anthropic one does not. ``named``:
        the cloud the model id names (``azure/gpt-4o`` through a gateway), whose discounts hold instead."""
        # the cloud the id names (it bills the call, through a gateway), else the provider that served it;
        # Foundry's calls are Azure's too
        served_by = named or served_by
        served = (served_by, PART_OF[served_by]) if served_by in PART_OF else (served_by,)
        for name, is_family in names.candidates:
            for provider in (*served, None):
                discount = self.model_discounts.get((name, is_family, provider))
                if discount is not None:
                    return discount
        for provider in served:
            discount = self.provider_discounts.get(provider)
            if discount is not None:
                return discount
        return None



def _names_a_family(key: str) -> bool:
    """Whether a price's id is a family's name (gpt-4o), not one dated or versioned id of it."""
    name = bare_id(key)[0]
    return base_name(name) == name

_lock = threading.RLock()
_catalog: _Catalog | None = None
_file_overrides: Overrides | None = None  # read once, again after clear_overrides()
_api_overrides: list[PriceEntry | Discount] = []  # set_price() calls, oldest first
_prices: _Prices | None = None


def _load_catalog() -> _Catalog:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    entries = tuple(PriceEntry.from_json(item) for item in data["entries"])
    metadata = {key: value for key, value in data.items() if key != "entries"}
    return _Catalog(metadata, entries, EntryIndex(entries, any_provider=False))


def _read_override_file() -> Overrides:
    path = os.environ.get(sc.ENV_PRICING_FILE, "").strip()
    if not path:
        return Overrides()
    try:
        return load_file(Path(path).expanduser())
    except OverrideError as exc:
        problem: object = exc
    except RuntimeError as exc:  # ~user/... of no known user
        problem = f"its ~ names no home directory here ({exc}); write the full path"
    except Exception as exc:  # never a failure of every call's pricing: the catalog prices them
        problem = f"reading it failed ({type(exc).__name__}: {exc})"
    # A typo in a price file must not take the application down: say what is wrong, once, and go on.
    logger.error(
        "Ignoring the price file %s (named by %s): %s. Costs use the built-in catalog until it is fixed.",
        path,
        sc.ENV_PRICING_FILE,
        problem,
    )
    return Overrides()


def _current() -> _Prices:
    global _catalog, _file_overrides, _prices
    prices = _prices
    if prices is not None:
        return prices
    with _lock:
        if _prices is None:
            if _catalog is None:
                _catalog = _load_catalog()
            if _file_overrides is None:
                _file_overrides = _read_override_file()
            _prices = _combine(_catalog, _file_overrides, _api_overrides)
        return _prices


def _combine(catalog: _Catalog, file: Overrides, api: list[PriceEntry | Discount]) -> _Prices:
    # Later wins: set_price() over the file, a later item over an earlier one. A price set again
    # for the same id and provider replaces the earlier one (which is no longer in force).
    entries: list[PriceEntry] = []
    seen: set[tuple[str, str]] = set()
    for entry in [*file.entries, *(item for item in api if isinstance(item, PriceEntry))][::-1]:
        slot = (bare_id(entry.key)[0], entry.provider)
        if slot not in seen:
            seen.add(slot)
            entries.append(entry)
    model_discounts: dict[tuple[str, bool, str | None], Discount] = {}
    provider_discounts: dict[str, Discount] = {}
    for discount in [*file.discounts, *(item for item in api if isinstance(item, Discount))]:
        if discount.model is None:
            provider_discounts[discount.provider or ""] = discount
            continue
        name, _ = bare_id(discount.model)
        model_discounts[name, False, discount.provider] = discount
        if base_name(name) == name:  # gpt-4o: its dated versions too; a dated id's discount is its own
            model_discounts[name, True, discount.provider] = discount
    listed = _Prices(catalog, EntryIndex((), latest_first=True), (), {}, {})  # the catalog alone, as discounts apply
    for discount in dict.fromkeys(model_discounts.values()):
        if listed.find(discount.model or "", discount.provider) is None:
            _say_unmatched(discount, catalog)
    return _Prices(catalog, EntryIndex(entries, latest_first=True), tuple(entries), model_discounts, provider_discounts)


_said_unmatched: set[tuple[str | None, str | None, str]] = set()


def _say_unmatched(discount: Discount, catalog: _Catalog) -> None:
    """A discount on a model the catalog does not price (a typo, ``claude-sonet-4-5``; a model of the user's
    own, whose price is theirs to give) takes nothing off any call: said once, with the nearest catalog ids."""
    key = (discount.model, discount.provider, discount.origin)
    if key in _said_unmatched:
        return
    _said_unmatched.add(key)
    ids = sorted({bare_id(entry.key)[0] for entry in catalog.entries})
    nearest = difflib.get_close_matches(bare_id(discount.model or "")[0], ids, n=3, cutoff=0.75)
    logger.warning(
        "The discount of %s on model %r%s matches no catalog price, so no call gets it. A discount takes a "
        "catalog id or family off its list price (see `otel-llmcost pricing list`); a model of your own gets "
        "the price you give it%s",
        discount.origin,
        discount.model,
        f" (provider {discount.provider})" if discount.provider else "",
        f". Did you mean {' or '.join(nearest)}?" if nearest else "",
    )


def _changed() -> None:
    global _prices
    _prices = None
    find_price.cache_clear()


@functools.lru_cache(maxsize=8192)
def find_price(model: str, provider: str | None = None) -> PriceEntry | None:
    """The price entry for a model id as the SDK or gateway names it, or None if unknown.

    ``provider`` is the ``gen_ai.provider.name`` of the call (``openai``, ``azure.ai.openai``,
    ``anthropic``, ``aws.bedrock``, ``gcp.vertex_ai``) or a catalog provider name.
    """
    return _current().find(model, provider)


def set_price(model: str | None, *, provider: str | None = None, discount: Any = None, **prices: Any) -> None:
    """Set a price at run time, like an item of the override file (USD per 1M tokens).

    ``set_price("my-model", input=0.2, output=0.6)`` prices a model the catalog lacks;
    ``set_price("gpt-4o", discount=20)`` takes 20% off the catalog price of gpt-4o and its
    dated versions; ``set_price(None, provider="anthropic", discount=10)`` off every
    Anthropic model. Raises ValueError (naming the problem) for bad input.
    """
    item: dict[str, Any] = {**prices, "model": model, "provider": provider}
    if discount is not None:
        item["discount"] = discount
    item = {key: value for key, value in item.items() if value is not None}
    parsed = parse_item(item, "set_price()", "set_price()", date.today().isoformat())
    with _lock:
        _api_overrides.append(parsed)
        _changed()


def clear_overrides() -> None:
    """Forget prices set with ``set_price`` and read OTEL_LLMCOST_PRICING_FILE again on next use."""
    global _file_overrides
    with _lock:
        _api_overrides.clear()
        _file_overrides = None
        _changed()


def catalog_metadata() -> dict[str, Any]:
    """The catalog header: schema and catalog version, generated date, sources, corrections, cross-check."""
    return _current().catalog.metadata


def all_entries() -> list[PriceEntry]:
    """Every price in force: the user's entries, then the catalog's with discounts applied."""
    prices = _current()
    catalog = []
    for entry in prices.catalog.entries:
        discount = prices.discount_for(model_names(entry.key), entry.provider)
        catalog.append(entry if discount is None else entry.discounted(discount.percent, discount.origin))
    return [*prices.user_entries, *catalog]


def catalog_entries() -> list[dict[str, Any]]:
    """Every price in force as flat rows (for the store's pricing table).

    Each row has ``key``, ``provider``, ``mode``, every name of ``PRICE_FIELDS`` (Decimal USD
    per 1M tokens, or None), ``long_context_threshold``, ``web_search_per_1k``, ``source``,
    ``effective_date`` and ``aliases``: the lowercase names (exact id, family name) that
    ``find_price`` resolves to this entry when no provider is given.
    """
    rows = []
    for entry in all_entries():
        row: dict[str, Any] = {"key": entry.key, "provider": entry.provider, "mode": entry.mode}
        row.update({name: entry.prices.get(name) for name in PRICE_FIELDS})
        row.update(
            long_context_threshold=entry.long_context_threshold,
            web_search_per_1k=entry.web_search_per_1k,
            source=entry.source,
            effective_date=entry.effective_date,
            aliases=_aliases(entry),
        )
        rows.append(row)
    return rows


def _aliases(entry: PriceEntry) -> list[str]:
    name, _ = bare_id(entry.key)
    aliases = []
    for alias in dict.fromkeys((entry.key.lower(), name, base_name(name))):
        found = find_price(alias)
        if found is not None and found.key == entry.key and found.provider == entry.provider:
            aliases.append(alias)
    return aliases

