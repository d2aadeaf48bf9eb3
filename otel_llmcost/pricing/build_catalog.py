"""Build ``catalog.json`` from LiteLLM's and Langfuse's public price tables.

    python -m otel_llmcost.pricing.build_catalog \\
        --litellm ../shared/reference/pricing/litellm_model_prices_2026-07-24.json \\
        --langfuse ../shared/reference/pricing/langfuse_default_model_prices.json

LiteLLM is the base (one entry per provider-specific id, dated snapshot). Langfuse is the
cross-check: every price both sources give is compared, each disagreement is recorded in
the catalog's ``cross_check`` list with the value chosen and why, and prices only Langfuse
has (tiers LiteLLM lacks, models LiteLLM lacks) are added with Langfuse named as source.

Decisions where the sources disagree, in order:
1. A Bedrock geographic inference profile (``us.``/``eu.``/...) priced at 1.1x Langfuse's:
   LiteLLM, because AWS charges a 10% premium on regional endpoints over global ones and
   Langfuse's patterns do not tell them apart.
2. One value is exactly the documented ratio to its standard price (flex = 50% of standard,
   a cache read = the tier's input ratio applied to the standard cache read) and the other is
   not: the exact one (the other is a display rounding, e.g. 0.138 for 0.1375).
3. Otherwise the source updated later for that model: Langfuse's ``updatedAt`` against the
   LiteLLM snapshot date. If Langfuse's standard price wins, LiteLLM-only prices of the entry
   (for example batch) are rescaled by the same factor so the tiers stay consistent.

Documented corrections applied on top (recorded in ``corrections``):
- Anthropic 1-hour cache writes cost 2x the base input price (5-minute writes 1.25x); some
  LiteLLM Claude 3 entries carry a wrong 1h price, and many Claude entries lack one.
- Anthropic prompt caching bills a cache read at 0.1x and a 5-minute write at 1.25x the base input price,
  on Anthropic's API, Vertex AI and Bedrock alike; LiteLLM's Vertex Claude 3 entries list no cache prices,
  which would bill cached tokens at the input rate, so Claude 3+ entries without them get them.
- Anthropic's Message Batches API bills 50% of standard input and output; LiteLLM's
  ``anthropic`` entries have no batch prices.
- Anthropic's web search tool costs $10 per 1,000 searches on every model that offers it
  (docs.anthropic.com, Pricing: web search); LiteLLM lists the fee for some ``anthropic`` entries
  only (not claude-haiku-4-5 or claude-3-5-haiku), so the ``anthropic`` Claude entries without it
  get it. A search on a model that cannot search is never reported, so the fee costs nothing there.
- A $0 entry that cannot be free is dropped, so its calls are flagged unpriced instead of costing $0: a
  Claude model (Anthropic has no free model; LiteLLM lists a preview at 0 before its price is known) or
  one billed per output item (an image, a clip) that the catalog's token prices cannot express.
- OpenAI's Batch API bills 50% of standard input and output (openai.com/api/pricing, Batch); LiteLLM
  lists batch prices for some OpenAI models only (gpt-4o-mini, gpt-4.1, ...), not for gpt-5, o1,
  o3 or o4-mini, so the text models of its ``openai`` entries without them get half their
  standard prices. Audio, realtime, search and ChatGPT (``*-chat``, ``*-chat-latest``) models are
  left out: no batch price is published for them. A listed batch price that is not half the entry's
  standard price is another model's (LiteLLM's ft:davinci-002 and ft:babbage-002 carry their base
  models') and is replaced the same way.
- OpenAI bills no cache write below the input price: a LiteLLM ``cache_creation_input_token_cost`` on an
  OpenAI entry without a cache-read price, below its input price, is the cached-input price
  (ft:gpt-4o-2024-11-20) and is read as one.
- A tier whose input price is no multiple of the standard one the providers document for it (batch and
  flex bill 25-100% of standard, priority 100-250%: OpenAI's priority processing is 1.6-2x) is another
  model's and is dropped, so its calls are priced at standard with a warning: LiteLLM gives gpt-5-nano
  gpt-5's $2.50 priority input, 50x its $0.05.
- A tier's cache read within 1% of the tier's ratio applied to the standard cache read is that ratio,
  rounded for display (Langfuse's 0.138 for o4-mini-2025-04-16's flex cache read, 0.1375 exactly).
- LiteLLM lists gemini/gemini-1.5-flash, a chat model, as an embedding model whose output costs 0; it
  gets Google's published output prices (ai.google.dev/pricing, Gemini 1.5 Flash from 2024-08-12:
  $0.30 per 1M output tokens, $0.60 past 128k).
- A model at $0 whose output is not text (LiteLLM's gemini/lyria-3-pro-preview makes music, billed per
  clip) is billed per item, like those with a per-item price, and is dropped.

Where LiteLLM lists one model at one provider twice, in two spellings (``deepseek-chat`` and
``deepseek/deepseek-chat``), a call finds one of them; the catalog's ``shadowed`` list names the other,
the entry that prices its calls instead, and whether their prices differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from otel_llmcost.pricing.entry import (
    INPUT_SIDE,
    PRICE_DECIMALS,
    PRICE_FIELDS,
    STANDARD,
    PriceEntry,
    format_price,
    price_field,
)
from otel_llmcost.pricing.names import is_regional

SCHEMA_VERSION = 1
CATALOG_PATH = Path(__file__).with_name("catalog.json")

LITELLM_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "azure_text": "azure",
    "azure_ai": "azure_ai",  # Microsoft Foundry's models sold by Azure (DeepSeek, Llama, Mistral, Phi, Grok, ...)
    "anthropic": "anthropic",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "bedrock_mantle": "bedrock",  # Bedrock's OpenAI-compatible service (bedrock-mantle.<region>.api.aws)
    "vertex_ai-anthropic_models": "vertex_ai",
    "vertex_ai-language-models": "vertex_ai",
    "gemini": "gemini",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "groq": "groq",
}
MODES = {"chat", "completion", "embedding", "responses"}
# Provisioned-throughput commitments and per-region Bedrock keys are not per-token prices of a model id.
# Claude on Microsoft Foundry is billed at Anthropic's list price, whose long-context tiers and web
# search fee LiteLLM's azure_ai entries leave out: those calls keep Anthropic's entry.
SKIPPED_KEY = re.compile(r"commitment|/\*/|^bedrock/[a-z]{2}(-gov)?-[a-z]+-\d/|container$|^azure_ai/claude-")
LITELLM_PRICE = re.compile(
    r"^(?P<component>input_cost_per_token_cache_hit|input_cost_per_token|output_cost_per_token"
    r"|cache_read_input_token_cost|cache_creation_input_token_cost(?:_above_1hr)?)"
    r"(?:_above_(?P<threshold>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$"
)
LITELLM_COMPONENTS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "input_cost_per_token_cache_hit": "cache_read",  # DeepSeek's name for a cache hit's price
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
LANGFUSE_COMPONENTS = {
    "input": "input",
    "output": "output",
    "input_cache_read": "cache_read",
    "input_cached_tokens": "cache_read",
    "cache_read_input_tokens": "cache_read",
    "cached_content_token_count": "cache_read",
    "input_cache_creation": "cache_write_5m",
    "input_cache_creation_5m": "cache_write_5m",
    "cache_creation_input_tokens": "cache_write_5m",
    "cache_write_tokens": "cache_write_5m",
    "input_cache_creation_1h": "cache_write_1h",
}
LANGFUSE_TIERS = {("flex",): "flex", ("fast", "priority"): "priority"}
ANTHROPIC_5M_WRITE = Decimal("1.25")
ANTHROPIC_1H_WRITE = Decimal(2)
ANTHROPIC_5M_WRITE = Decimal("1.25")
ANTHROPIC_CACHE_READ = Decimal("0.1")
# Claude models with prompt caching: Claude 3 on (claude-3-haiku, claude-3-5-sonnet, claude-sonnet-4-5, ...)
CLAUDE_WITH_CACHING = re.compile(r"claude-(?:3|[4-9]|(?:opus|sonnet|haiku)-[4-9])\b")
BATCH_DISCOUNT = Decimal("0.5")
ANTHROPIC_WEB_SEARCH_PER_1K = Decimal(10)
REGIONAL_PREMIUM = Decimal("1.1")


def per_million(per_token: float) -> Decimal:
    """USD per token (a JSON float) -> exact USD per 1M tokens, without the float's binary noise."""
    return (Decimal(repr(per_token)) * 1_000_000).quantize(PRICE_DECIMALS).normalize()


# --- LiteLLM ------------------------------------------------------------------


@dataclass
class Draft:
    """An entry being assembled: prices plus where each came from."""

    key: str
    provider: str
    mode: str
    prices: dict[str, Decimal]
    long_context_threshold: int | None
    web_search_per_1k: Decimal | None
    dates: set[str]
    sources: list[str]
    notes: list[str] = field(default_factory=list)
    from_langfuse: set[str] = field(default_factory=set)  # price fields whose value Langfuse gave

    def finish(self) -> PriceEntry:
        return PriceEntry(
            key=self.key,
            provider=self.provider,
            mode=self.mode,
            prices=self.prices,
            long_context_threshold=self.long_context_threshold,
            web_search_per_1k=self.web_search_per_1k,
            source="; ".join(dict.fromkeys(self.sources)),
            effective_date=max(self.dates),
            notes=tuple(self.notes),
        )


def litellm_draft(key: str, spec: dict[str, Any], source: str, snapshot: str) -> Draft | None:
    provider = LITELLM_PROVIDERS.get(spec.get("litellm_provider", ""))
    if provider is None or spec.get("mode") not in MODES or SKIPPED_KEY.search(key):
        return None
    if "input_cost_per_token" not in spec:
        return None
    prices: dict[tuple[str, int], Decimal] = {}  # (price field, long-context threshold or 0) -> price
    thresholds: set[int] = set()
    for litellm_name, value in spec.items():
        match = LITELLM_PRICE.match(litellm_name)
        if match is None or not isinstance(value, (int, float)):
            continue
        tier = {"batches": "batch", None: STANDARD}.get(match["tier"], match["tier"])
        long_context = match["threshold"] is not None
        if long_context:
            thresholds.add(int(match["threshold"]) * 1000)
        name = price_field(tier, LITELLM_COMPONENTS[match["component"]], long_context)
        prices[name, int(match["threshold"] or 0) * 1000] = per_million(value)
    notes = []
    threshold = min(thresholds) if thresholds else None
    if len(thresholds) > 1:
        notes.append(f"litellm lists several long-context thresholds {sorted(thresholds)}; only {threshold} is kept")
    kept = {name: price for (name, above), price in prices.items() if above in (0, threshold)}
    return Draft(
        key=key,
        provider=provider,
        mode=spec["mode"],
        prices=kept,
        long_context_threshold=threshold,
        web_search_per_1k=web_search_price(spec),
        dates={snapshot},
        sources=[source],
        notes=notes,
    )


def web_search_price(spec: dict[str, Any]) -> Decimal | None:
    # Search cost per query at the default ("medium") context size, as a price per 1,000 requests.
    per_query = (spec.get("search_context_cost_per_query") or {}).get("search_context_size_medium")
    if not isinstance(per_query, (int, float)) or per_query <= 0:
        return None
    return (Decimal(repr(per_query)) * 1000).quantize(PRICE_DECIMALS).normalize()


# --- Langfuse -----------------------------------------------------------------


@dataclass
class LangfuseModel:
    name: str
    pattern: re.Pattern[str]
    updated: str
    prices: dict[str, Decimal]
    long_context_threshold: int | None


def langfuse_models(rows: list[dict[str, Any]]) -> list[LangfuseModel]:
    return [langfuse_model(row) for row in rows]


def langfuse_model(row: dict[str, Any]) -> LangfuseModel:
    prices: dict[str, Decimal] = {}
    threshold = None
    for tier_row in row["pricingTiers"]:
        tier, long_threshold = langfuse_tier(tier_row["conditions"])
        if tier is None:
            continue
        if long_threshold is not None:
            threshold = long_threshold
        for usage_key, value in tier_row["prices"].items():
            component = LANGFUSE_COMPONENTS.get(usage_key)
            if component is not None:
                prices.setdefault(price_field(tier, component, long_threshold is not None), per_million(value))
    return LangfuseModel(
        name=row["modelName"],
        pattern=re.compile(row["matchPattern"]),
        updated=row["updatedAt"][:10],
        prices=prices,
        long_context_threshold=threshold,
    )


def langfuse_tier(conditions: list[dict[str, Any]]) -> tuple[str | None, int | None]:
    """(billing tier, long-context threshold) a Langfuse pricing tier applies to; tier None = not ours."""
    tier, threshold = STANDARD, None
    for condition in conditions:
        if condition.get("key") == "service_tier":
            tier = LANGFUSE_TIERS.get(tuple(sorted(condition["values"])))
        elif "usageDetailPattern" in condition and condition.get("operator") == "gt":
            threshold = int(condition["value"])
        else:
            return None, None  # e.g. Anthropic's speed=fast mode: no service tier of ours
        if tier is None:
            return None, None
    return tier, threshold


def langfuse_only_draft(model: LangfuseModel, source: str) -> Draft | None:
    if "input" not in model.prices:
        return None
    name = model.name
    return Draft(
        key=name,
        provider=langfuse_provider(model),
        mode="embedding" if "embedding" in name or "gecko" in name else langfuse_mode(name),
        prices=dict(model.prices),
        long_context_threshold=model.long_context_threshold,
        web_search_per_1k=None,
        dates={model.updated},
        sources=[source],
        from_langfuse=set(model.prices),
    )


def langfuse_provider(model: LangfuseModel) -> str:
    pattern = model.pattern.pattern
    if "anthropic" in pattern or model.name.startswith("claude"):
        return "anthropic"
    if model.name.startswith("gemini"):
        return "gemini"
    if "bison" in model.name or "gecko" in model.name or "unicorn" in model.name:
        return "vertex_ai"
    return "openai"


def langfuse_mode(name: str) -> str:
    legacy_completion = re.match(r"^(ft:)?(text-(ada|babbage|curie|davinci)-|davinci-002|babbage-002|gpt-3.5-turbo-instruct)", name)
    return "completion" if legacy_completion else "chat"


# --- Cross-check --------------------------------------------------------------


@dataclass
class CrossCheck:
    litellm_date: str
    litellm_source: str
    langfuse_source: str
    records: list[dict[str, str]] = field(default_factory=list)
    filled: int = 0

    def merge(self, draft: Draft, model: LangfuseModel, original: Draft, base: Draft | None) -> None:
        """Compare ``draft`` (from LiteLLM) with the Langfuse model whose pattern matches its key.

        ``original`` is LiteLLM's own entry before any merge, ``base`` LiteLLM's entry of the
        same Bedrock model without the geographic prefix.
        """
        took_standard: dict[str, Decimal] = {}
        for name, theirs in model.prices.items():
            ours = draft.prices.get(name)
            if ours is None:
                draft.prices[name] = theirs
                draft.from_langfuse.add(name)
                self.filled += 1
                continue
            if ours == theirs:
                continue
            chosen, reason = self.decide(draft.key, name, ours, theirs, model, original, base)
            self.records.append(
                {
                    "key": draft.key,
                    "field": name,
                    "litellm": format_price(ours),
                    "langfuse": format_price(theirs),
                    "langfuse_model": model.name,
                    "chosen": chosen,
                    "reason": reason,
                }
            )
            if chosen == "langfuse":
                draft.prices[name] = theirs
                draft.from_langfuse.add(name)
                if name in ("input", "output"):
                    took_standard[name] = theirs / ours
        if took_standard:
            rescale_litellm_only(draft, took_standard, confirmed=set(model.prices))
        if draft.from_langfuse:
            draft.sources.append(self.langfuse_source)
            draft.dates.add(model.updated)
            draft.notes.append(f"prices from langfuse ({model.name}): {', '.join(sorted(draft.from_langfuse))}")

    def decide(
        self,
        key: str,
        name: str,
        ours: Decimal,
        theirs: Decimal,
        model: LangfuseModel,
        original: Draft,
        base: Draft | None,
    ) -> tuple[str, str]:
        if is_regional(key) and base is not None and ours == base.prices.get(name, ours) * REGIONAL_PREMIUM:
            return "litellm", "bedrock regional endpoint: AWS's 10% premium over the global price"
        ours_ratio = documented_ratio_price(original.prices, name)
        theirs_ratio = documented_ratio_price(model.prices, name)
        if ours_ratio is not None and theirs_ratio is not None and (ours == ours_ratio) != (theirs == theirs_ratio):
            winner = "litellm" if ours == ours_ratio else "langfuse"
            return winner, "exactly the documented ratio to the standard price (the other is a rounding)"
        if model.updated > self.litellm_date:
            return "langfuse", f"langfuse updated this model later ({model.updated} > {self.litellm_date})"
        return "litellm", f"litellm snapshot is newer ({self.litellm_date} >= {model.updated})"

    def summary(self, verbose: bool) -> str:
        by_reason: dict[str, int] = {}
        for record in self.records:
            kind = record["reason"].split(":")[0].split("(")[0].strip()
            by_reason[f"{record['chosen']}: {kind}"] = by_reason.get(f"{record['chosen']}: {kind}", 0) + 1
        lines = [f"cross-check: {len(self.records)} disagreements, {self.filled} prices filled from langfuse"]
        lines += [f"  {count:4d}  {reason}" for reason, count in sorted(by_reason.items())]
        if verbose:
            lines += [
                f"  {r['key']} {r['field']}: litellm {r['litellm']} / langfuse {r['langfuse']} -> {r['chosen']}"
                for r in self.records
            ]
        return "\n".join(lines)


def documented_ratio_price(prices: dict[str, Decimal], name: str) -> Decimal | None:
    """What a tier's cache price must be if it follows the tier's input ratio (flex = 50% everywhere)."""
    for tier in ("flex", "priority", "batch"):
        for component in ("cache_read", "cache_write_5m"):
            if name == price_field(tier, component):
                tier_input, standard_input = prices.get(price_field(tier, "input")), prices.get("input")
                standard = prices.get(component)
                if tier_input is None or not standard_input or standard is None:
                    return None
                return (standard * tier_input / standard_input).normalize()
    return None


def rescale_litellm_only(draft: Draft, factors: dict[str, Decimal], confirmed: set[str]) -> None:
    """Keep LiteLLM-only prices (e.g. batch) in proportion after Langfuse replaced the standard price."""
    rescaled = []
    for name in list(draft.prices):
        if name in confirmed:
            continue
        side = "input" if any(name.endswith(component) for component in INPUT_SIDE) else "output"
        factor = factors.get(side)
        if factor is not None and factor != 1:
            draft.prices[name] = (draft.prices[name] * factor).quantize(PRICE_DECIMALS).normalize()
            rescaled.append(name)
    if rescaled:
        draft.notes.append(
            f"litellm-only prices rescaled to langfuse's standard level: {', '.join(sorted(rescaled))}"
        )


# --- Documented corrections ---------------------------------------------------


def is_claude(draft: Draft) -> bool:
    return draft.provider == "anthropic" or "claude" in draft.key


def correct_anthropic(draft: Draft, corrections: list[dict[str, str]], anthropic: dict[str, Draft]) -> None:
    if not is_claude(draft):
        return
    add_cache_prices(draft, corrections, anthropic)
    for long_context in (False, True):
        base_input = draft.prices.get(price_field(STANDARD, "input", long_context))
        five_minute = price_field(STANDARD, "cache_write_5m", long_context)
        one_hour = price_field(STANDARD, "cache_write_1h", long_context)
        if base_input is None or five_minute not in draft.prices:
            continue  # no prompt caching listed for this model
        expected = (base_input * ANTHROPIC_1H_WRITE).normalize()
        current = draft.prices.get(one_hour)
        if current != expected:
            draft.prices[one_hour] = expected
            draft.from_langfuse.discard(one_hour)
            corrections.append(
                {
                    "key": draft.key,
                    "field": one_hour,
                    "from": "" if current is None else format_price(current),
                    "to": format_price(expected),
                    "reason": "Anthropic prompt caching: a 1-hour cache write costs 2x the base input price",
                }
            )
    if draft.provider == "anthropic" and "batch_input" not in draft.prices:
        add_batch_prices(draft, corrections, "Anthropic Message Batches API")
    if draft.provider == "anthropic" and draft.web_search_per_1k is None:
        draft.web_search_per_1k = ANTHROPIC_WEB_SEARCH_PER_1K
        corrections.append(
            {
                "key": draft.key,
                "field": "web_search_per_1k",
                "from": "",
                "to": format_price(ANTHROPIC_WEB_SEARCH_PER_1K),
                "reason": "Anthropic web search tool: $10 per 1,000 searches",
            }
        )


def add_cache_prices(draft: Draft, corrections: list[dict[str, str]], anthropic: dict[str, Draft]) -> None:
    """A Claude 3+ entry listed without cache prices (LiteLLM's Vertex Claude 3 entries): cached tokens would
    be billed at the input rate, 10x a cache read. Prompt caching bills the same ratios on every platform,
    or where Anthropic lists the model's cache prices apart from the ratios (Claude 3 Haiku: $0.03 a read,
    $0.30 a 5-minute write, on $0.25 input), those at the same input price. ``anthropic``: Anthropic's own
    entries by id."""
    base_input = draft.prices.get("input")
    if (
        base_input is None
        or not CLAUDE_WITH_CACHING.search(draft.key)
        or "cache_read" in draft.prices
        or "cache_write_5m" in draft.prices
    ):
        return
    own = _anthropic_entry_of(draft.key, anthropic)
    if own is not None and own.prices.get("input") == base_input and "cache_read" in own.prices:
        for name in ("cache_read", "cache_write_5m"):
            draft.prices[name] = own.prices[name]
        reason = f"Anthropic prompt caching, as Anthropic lists this model ({own.key}) at the same input price"
    else:
        for name, ratio in (("cache_read", ANTHROPIC_CACHE_READ), ("cache_write_5m", ANTHROPIC_5M_WRITE)):
            draft.prices[name] = (base_input * ratio).normalize()
        reason = (
            "Anthropic prompt caching (the same on Vertex AI and Bedrock): a cache read costs 0.1x "
            "the base input price, a 5-minute cache write 1.25x"
        )
    corrections.append(
        {
            "key": draft.key,
            "field": "cache_read, cache_write_5m",
            "from": "",
            "to": f"{format_price(draft.prices['cache_read'])}, {format_price(draft.prices['cache_write_5m'])}",
            "reason": reason,
        }
    )


def _anthropic_entry_of(key: str, anthropic: dict[str, Draft]) -> Draft | None:
    """Anthropic's own entry for a cloud's Claude id: ``vertex_ai/claude-3-haiku@20240307`` is
    ``claude-3-haiku-20240307``; an undated ``vertex_ai/claude-3-haiku`` the one dated id of it, if one."""
    name = key.rpartition("/")[2].replace("@", "-")
    if name in anthropic:
        return anthropic[name]
    dated = [draft for own, draft in anthropic.items() if re.fullmatch(re.escape(name) + r"-\d{8}", own)]
    return dated[0] if len(dated) == 1 else None


def is_zero_placeholder(draft: Draft, spec: Any) -> bool:
    """Every token price 0 where that cannot be the price: a Claude model (Anthropic has no free
    model; a preview listed before its price is known), or a model billed per output item (one with
    a per-item price, or one whose output is no text: music, images, video)."""
    if any(price for price in draft.prices.values()):
        return False
    per_item = isinstance(spec, dict) and any(
        isinstance(value, (int, float)) and value > 0 and "_cost_per_" in name and not name.endswith("token")
        for name, value in spec.items()
    )
    outputs = spec.get("supported_output_modalities") if isinstance(spec, dict) else None
    no_text = isinstance(outputs, list) and bool(outputs) and "text" not in outputs
    return is_claude(draft) or per_item or no_text


# A tier's input price as a multiple of the standard input price, as the providers document the tiers.
TIER_INPUT_RATIOS = {
    "batch": (Decimal("0.25"), Decimal(1)),
    "flex": (Decimal("0.25"), Decimal(1)),
    "priority": (Decimal(1), Decimal("2.5")),
}
TIER_CACHE_READ_ROUNDING = Decimal("0.01")  # a display rounding is within 1% of the exact price
CENT = Decimal("0.01")


def drop_foreign_tiers(draft: Draft, corrections: list[dict[str, str]]) -> None:
    """A tier whose input price is outside the documented range of multiples of the standard input price
    is another model's (LiteLLM's gpt-5-nano has gpt-5's priority input): its prices are dropped."""
    base = draft.prices.get("input")
    if not base:
        return
    for tier, (low, high) in TIER_INPUT_RATIOS.items():
        listed = draft.prices.get(price_field(tier, "input"))
        if listed is None or low <= listed / base <= high:
            continue
        dropped = [name for name in PRICE_FIELDS if name.startswith(f"{tier}_") and name in draft.prices]
        corrections.append(
            {
                "key": draft.key,
                "field": ", ".join(dropped),
                "from": ", ".join(format_price(draft.prices.pop(name)) for name in dropped),
                "to": "",
                "reason": f"{tier} input at {format_price(listed / base)}x the standard input, outside the "
                f"{format_price(low)}-{format_price(high)}x the providers document for {tier}: another model's "
                "price; the tier's calls are priced at standard, with a warning",
            }
        )


def exact_tier_cache_reads(draft: Draft, corrections: list[dict[str, str]]) -> None:
    """A tier's cache read that is the tier's input ratio applied to the standard cache read, rounded for
    display (within 1%, or to the cent at OpenAI), is that exact ratio, as the cross-check already decides
    where the sources disagree."""
    base_input, base_read = draft.prices.get("input"), draft.prices.get("cache_read")
    if not base_input or not base_read:
        return
    for tier in ("batch", "flex", "priority"):
        tier_input = draft.prices.get(price_field(tier, "input"))
        name = price_field(tier, "cache_read")
        listed = draft.prices.get(name)
        if tier_input is None or listed is None:
            continue
        exact = (base_read * tier_input / base_input).normalize()
        # OpenAI's flex and batch tiers bill one rate; gpt-5.4's flex cache read is listed 0.13 for 0.125
        in_cents = draft.provider == "openai" and listed == exact.quantize(CENT, rounding=ROUND_HALF_UP)
        if listed == exact or (abs(listed - exact) > exact * TIER_CACHE_READ_ROUNDING and not in_cents):
            continue
        draft.prices[name] = exact
        corrections.append(
            {
                "key": draft.key,
                "field": name,
                "from": format_price(listed),
                "to": format_price(exact),
                "reason": f"{tier} cache read = the standard cache read at the {tier} input's ratio to the standard "
                "input; the listed price is that, rounded for display",
            }
        )


# Chat models LiteLLM lists as embeddings with a 0 output price, with the output prices their makers publish.
CHAT_LISTED_AS_EMBEDDING = {
    "gemini/gemini-1.5-flash": (
        {"output": Decimal("0.3"), "long_output": Decimal("0.6")},
        "Gemini 1.5 Flash is a chat model; ai.google.dev/pricing (2024-08-12): output $0.30 per 1M tokens, "
        "$0.60 past 128k",
    ),
}


def correct_chat_listed_as_embedding(draft: Draft, corrections: list[dict[str, str]]) -> None:
    corrected = CHAT_LISTED_AS_EMBEDDING.get(draft.key)
    if corrected is None or draft.mode != "embedding":
        return
    prices, reason = corrected
    draft.mode = "chat"
    for name, price in prices.items():
        corrections.append(
            {
                "key": draft.key,
                "field": f"mode, {name}",
                "from": f"embedding, {format_price(draft.prices.get(name, Decimal(0)))}",
                "to": f"chat, {format_price(price)}",
                "reason": reason,
            }
        )
        draft.prices[name] = price


# OpenAI text models the Batch API serves: every mode it has an endpoint for, less these ids.
OPENAI_BATCH_MODES = frozenset(("chat", "responses", "completion", "embedding"))
OPENAI_NOT_BATCHED = re.compile(r"audio|realtime|search|chatgpt|-chat(?:-latest)?$")


def correct_openai_batch(draft: Draft, corrections: list[dict[str, str]]) -> None:
    if (
        draft.provider != "openai"
        or draft.mode not in OPENAI_BATCH_MODES
        or OPENAI_NOT_BATCHED.search(draft.key)
        or "input" not in draft.prices
        or "output" not in draft.prices
    ):
        return
    listed = (draft.prices.get("batch_input"), draft.prices.get("batch_output"))
    if listed == (None, None) or listed != tuple(
        (draft.prices[component] * BATCH_DISCOUNT).normalize() for component in ("input", "output")
    ):
        # none listed, or another model's (LiteLLM's ft:davinci-002 has davinci-002's $1, not half of its $12)
        add_batch_prices(draft, corrections, "OpenAI Batch API", listed)


def correct_openai_cache_write(draft: Draft, corrections: list[dict[str, str]]) -> None:
    """OpenAI bills no cache write below the input price: LiteLLM's ``cache_creation_input_token_cost`` on an
    OpenAI entry without a cache-read price and below its input price is the cached-input price, mislabelled
    (ft:gpt-4o-2024-11-20's 1.875, half its 3.75 input, as ft:gpt-4o-2024-08-06's cache read)."""
    written, base_input = draft.prices.get("cache_write_5m"), draft.prices.get("input")
    if (
        draft.provider != "openai"
        or written is None
        or base_input is None
        or written >= base_input
        or "cache_read" in draft.prices
    ):
        return
    draft.prices["cache_read"] = draft.prices.pop("cache_write_5m")
    draft.prices.pop("cache_write_1h", None)
    corrections.append(
        {
            "key": draft.key,
            "field": "cache_write_5m -> cache_read",
            "from": format_price(written),
            "to": format_price(written),
            "reason": "OpenAI cached input: a price below the input price listed as a cache write is the "
            "cached-input (cache read) price",
        }
    )


# A Bedrock Claude geographic inference profile (not global, not GovCloud's): us.anthropic.claude-...
GEO_CLAUDE = re.compile(r"^(?:us|eu|apac|au|jp|ca)\.(anthropic\.claude-.+)$")


def complete_regional_premiums(drafts: dict[str, Draft], corrections: list[dict[str, str]]) -> None:
    """A Bedrock geographic profile listed at its model's global prices, where the model's other
    geographic profiles carry AWS's 10% premium over global (LiteLLM lists eu. Claude Opus 4.5 at
    global prices, us. Opus 4.5 and eu. Sonnet 4.5 at 1.1x): the premium, on every price."""
    profiles: dict[str, list[Draft]] = {}
    for key, draft in drafts.items():
        match = GEO_CLAUDE.match(key)
        if match is not None:
            profiles.setdefault(match.group(1), []).append(draft)
    for model, geographic in sorted(profiles.items()):
        base = drafts.get(f"global.{model}")
        if base is None or "input" not in base.prices:
            continue
        premium = {name: (price * REGIONAL_PREMIUM).normalize() for name, price in base.prices.items()}
        if not any(draft.prices.get("input") == premium["input"] for draft in geographic):
            continue  # no profile of this model shows the premium
        for draft in geographic:
            if draft.prices != base.prices:
                continue
            names = sorted(draft.prices, key=PRICE_FIELDS.index)
            draft.prices = {name: premium[name] for name in draft.prices}
            corrections.append(
                {
                    "key": draft.key,
                    "field": ", ".join(names),
                    "from": ", ".join(format_price(base.prices[name]) for name in names),
                    "to": ", ".join(format_price(premium[name]) for name in names),
                    "reason": "AWS Bedrock: a geographic inference profile costs 10% more than the global one, "
                    "as this model's other geographic profiles are listed",
                }
            )


def add_batch_prices(
    draft: Draft, corrections: list[dict[str, str]], api: str, listed: tuple[Decimal | None, ...] = (None, None)
) -> None:
    """The provider's documented batch discount (``api`` bills 50% of standard input and output), recorded;
    ``listed``: the batch prices the sources gave, which these replace."""
    for component in ("input", "output"):
        draft.prices[price_field("batch", component)] = (draft.prices[component] * BATCH_DISCOUNT).normalize()
    corrections.append(
        {
            "key": draft.key,
            "field": "batch_input, batch_output",
            "from": "" if listed == (None, None) else ", ".join("" if p is None else format_price(p) for p in listed),
            "to": f"{format_price(draft.prices['batch_input'])}, {format_price(draft.prices['batch_output'])}",
            "reason": f"{api}: 50% of standard input and output prices",
        }
    )


# --- Catalog ------------------------------------------------------------------


def build(
    litellm: dict[str, Any],
    langfuse: list[dict[str, Any]],
    litellm_date: str,
    generated: str,
) -> tuple[dict[str, Any], CrossCheck]:
    litellm_source = f"litellm model_prices_and_context_window.json {litellm_date}"
    models = langfuse_models(langfuse)
    langfuse_date = max(model.updated for model in models)
    langfuse_source = f"langfuse default-model-prices (updated to {langfuse_date})"
    check = CrossCheck(litellm_date, litellm_source, langfuse_source)

    drafts = {
        key: draft
        for key, spec in litellm.items()
        if isinstance(spec, dict) and (draft := litellm_draft(key, spec, litellm_source, litellm_date))
    }
    # LiteLLM's entries as LiteLLM has them, for rules that compare against LiteLLM's own prices.
    originals = {key: replace(draft, prices=dict(draft.prices)) for key, draft in drafts.items()}
    for model in models:
        matched = [draft for key, draft in drafts.items() if model.pattern.match(key)]
        for draft in matched:
            base = originals.get(re.sub(r"^[a-z-]+\.(?=anthropic\.)", "", draft.key))
            check.merge(draft, model, originals[draft.key], base)
        # Langfuse names the model maker's own id; keep it when LiteLLM only has cloud ids for it.
        first_party = langfuse_provider(model)
        own = langfuse_only_draft(model, langfuse_source)
        if own is not None and not any(draft.provider == first_party for draft in matched):
            drafts.setdefault(own.key, own)

    corrections: list[dict[str, str]] = []
    for key in [key for key, draft in drafts.items() if is_zero_placeholder(draft, litellm.get(key))]:
        del drafts[key]
        corrections.append(
            {
                "key": key,
                "field": "all prices",
                "from": "0",
                "to": "",
                "reason": "a $0 price that is no price: a Claude model (never free) or one billed per item "
                "(image, clip) the catalog cannot price; left unpriced, so its calls are flagged, not $0",
            }
        )
    anthropic = {key: draft for key, draft in drafts.items() if draft.provider == "anthropic"}
    for draft in drafts.values():
        correct_anthropic(draft, corrections, anthropic)
        correct_openai_batch(draft, corrections)
        correct_openai_cache_write(draft, corrections)
        drop_foreign_tiers(draft, corrections)
        exact_tier_cache_reads(draft, corrections)
        correct_chat_listed_as_embedding(draft, corrections)
    complete_regional_premiums(drafts, corrections)

    entries = [draft.finish().to_json() for draft in sorted(drafts.values(), key=lambda d: (d.provider, d.key))]
    shadowed = shadowed_entries(entries)
    digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:10]
    catalog = {
        "schema_version": SCHEMA_VERSION,
        "catalog_version": f"{litellm_date}.{digest}",
        "generated": generated,
        "prices_unit": "USD per 1M tokens (web_search_per_1k: USD per 1,000 requests)",
        "price_fields": list(PRICE_FIELDS),
        "sources": [
            {"name": litellm_source, "license": "MIT", "role": "base"},
            {"name": langfuse_source, "license": "MIT", "role": "cross-check, missing tiers and models"},
        ],
        "corrections": corrections,
        "cross_check": check.records,
        "shadowed": shadowed,
        "entries": entries,
    }
    return catalog, check


def shadowed_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries no call is priced by: LiteLLM lists the same model id at the same provider twice, in two
    spellings (deepseek-chat and deepseek/deepseek-chat), and a call finds one of them (the id without a
    gateway prefix). Recorded with the entry that prices those calls, and whether their prices differ, so
    the choice is visible where the sources conflict (kimi-k2.5 on Bedrock at $3 or $3.03 output)."""
    from otel_llmcost.pricing.catalog import EntryIndex
    from otel_llmcost.pricing.names import model_names

    priced = [PriceEntry.from_json(item) for item in entries]
    index = EntryIndex(priced)
    records = []
    for entry in priced:
        found = index.lookup(model_names(entry.key), entry.provider, exact=True)
        if found is None or found is entry:
            continue
        same = (found.prices, found.long_context_threshold, found.web_search_per_1k) == (
            entry.prices,
            entry.long_context_threshold,
            entry.web_search_per_1k,
        )
        records.append(
            {
                "key": entry.key,
                "provider": entry.provider,
                "priced_by": found.key,
                "prices": "the same" if same else "differ",
                "reason": "the same model at the same provider, spelled another way (with a gateway prefix, "
                "Claude's older word order): calls find the entry priced_by names",
            }
        )
    return records


def snapshot_date(path: Path) -> str:
    match = re.search(r"(\d{4}-\d{2}-\d{2})", path.name)
    if match is None:
        raise SystemExit(f"cannot tell the snapshot date from {path.name}: pass --litellm-date YYYY-MM-DD")
    return match.group(1)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--litellm", type=Path, required=True, help="LiteLLM model_prices_and_context_window.json")
    parser.add_argument("--langfuse", type=Path, required=True, help="Langfuse default-model-prices.json")
    parser.add_argument("--litellm-date", help="snapshot date of the LiteLLM file (default: from its name)")
    parser.add_argument("--generated", default=date.today().isoformat(), help="generated date (default: today)")
    parser.add_argument("--output", type=Path, default=CATALOG_PATH)
    parser.add_argument("--verbose", action="store_true", help="print every disagreement")
    args = parser.parse_args(list(argv) if argv is not None else None)

    litellm = json.loads(args.litellm.read_text())
    langfuse = json.loads(args.langfuse.read_text())
    catalog, check = build(litellm, langfuse, args.litellm_date or snapshot_date(args.litellm), args.generated)
    args.output.write_text(json.dumps(catalog, indent=1) + "\n")

    print(check.summary(args.verbose))
    print(f"{len(catalog['corrections'])} documented corrections, {len(catalog['entries'])} entries -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
