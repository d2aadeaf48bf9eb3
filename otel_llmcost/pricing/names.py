"""Model ids as SDKs, gateways and clouds spell them, reduced to the names the catalog knows.

The same model reaches us as ``gpt-4o-mini-2024-07-18``, ``openai/gpt-4o-mini``,
``us.anthropic.claude-3-5-haiku-20241022-v1:0`` (Bedrock), ``claude-3-5-haiku@20241022``
(Vertex) or ``ft:gpt-4o-mini-2024-07-18:acme::abc123`` (a fine-tune). ``model_names``
turns one id into the names to try, most specific first, plus the provider the id
itself gives away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# gen_ai.provider.name values (and the catalog's own names) -> catalog provider
CATALOG_PROVIDERS = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure_ai",  # Microsoft Foundry's models (serverless, model inference endpoint)
    "azure": "azure",
    "azure_ai": "azure_ai",
    "anthropic": "anthropic",
    "aws.bedrock": "bedrock",
    "bedrock": "bedrock",
    "gcp.vertex_ai": "vertex_ai",
    "vertex_ai": "vertex_ai",
    "gcp.gemini": "gemini",
    "gemini": "gemini",
    "mistral_ai": "mistral",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "x_ai": "xai",
    "xai": "xai",
    "groq": "groq",
}
# When a model has no entry for the provider that served it, the model maker's list price is the best guess.
UPSTREAM = {"azure": "openai", "azure_ai": "openai", "bedrock": "anthropic", "vertex_ai": "anthropic"}
# Azure sells models in two price lists, LiteLLM's azure/ and azure_ai/ ids: Azure OpenAI's, and Microsoft
# Foundry's serverless models (Mistral Large at $8/$24 in the first, $2/$6 in the second). A call is priced
# from its own list, else from the other one's entry for the same name, before any other provider's.
OTHER_LIST = {"azure": "azure_ai", "azure_ai": "azure"}
# A user's price or discount for Azure holds for Foundry's calls too (one Azure bill); not the reverse.
PART_OF = {"azure_ai": "azure"}
# The clouds whose prefix on a model id (azure/gpt-4o, bedrock/..., vertex_ai/...) names who serves it, not
# only how a gateway spells the model (openai/gpt-oss-120b at Groq, google/gemini-2.5-flash, anthropic/...);
# and Groq, whose prefix (groq/openai/gpt-oss-120b through a LiteLLM proxy) names it alike
CLOUDS = frozenset(("azure", "azure_ai", "bedrock", "vertex_ai", "groq"))
# Hosts of other makers' open models (Llama, Qwen, gpt-oss), which many hosts serve at prices of their own: their
# list prices their own calls, never a stored call of another or no provider (the store's provider-less rows)
OPEN_MODEL_HOSTS = frozenset(("groq",))
# For a call whose provider is unknown: the model makers' own prices, then the clouds that resell models.
MAKERS = ("openai", "anthropic", "gemini", "mistral", "deepseek", "xai")
PREFERENCE = (*MAKERS, "vertex_ai", "azure", "azure_ai", "bedrock")

# Gateway and cloud prefixes: LiteLLM's, Vertex's OpenAI endpoint's (google/gemini-2.5-flash, xai/grok-4),
# OpenRouter's vendor names (x-ai/grok-4, mistralai/mistral-large), the Gemini API's resource names (models/...)
_PREFIX = re.compile(
    r"^(openai|azure|azure_ai|anthropic|bedrock|bedrock_mantle|vertex_ai|gemini|google|mistral|mistralai|deepseek|xai|x-ai"
    r"|groq|text-completion-openai|models)/"
)
_PREFIX_PROVIDER = {
    "models": "",  # the Gemini API's resource names (models/gemini-2.5-flash): no provider of their own
    "text-completion-openai": "openai",
    "bedrock_mantle": "bedrock",
    "google": "gemini",
    "mistralai": "mistral",
    "x-ai": "xai",
}
_BEDROCK_ROUTE = re.compile(r"^(converse|invoke)/")
# A Bedrock ARN that names its model: a foundation model, or a system-defined (cross-region) inference
# profile. Application inference profiles, provisioned and custom models name only an id of the account's.
_BEDROCK_MODEL_ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[\w-]*:\d*:(?:inference-profile|foundation-model)/")
# Bedrock cross-region inference profiles put a geography before the vendor: us.anthropic.claude-...
_BEDROCK_GEO = re.compile(r"^(us|eu|apac|au|jp|ca|global|us-gov)\.")
# Claude's geographic profiles, priced alike (AWS's premium over global, on the models that have one); not
# global (the base price) nor us-gov (GovCloud's own prices). Other vendors' prices differ by region (Nova).
_PREMIUM_GEOGRAPHIES = ("us", "eu", "apac", "jp", "au", "ca")
_BEDROCK_VENDOR = re.compile(
    r"^(anthropic|amazon|meta|mistral|cohere|ai21|deepseek|openai|qwen|writer|google|minimax|moonshot|moonshotai|nvidia|zai|twelvelabs)\."
)
# Claude ids as gateways spell them: OpenRouter's dots (claude-3.5-sonnet, claude-sonnet-4.5), the version
# before the family from Claude 4 on (claude-4.5-sonnet), the aliases with a .0 (claude-sonnet-4-0).
_CLAUDE_DOTTED = re.compile(r"^claude-((?:opus|sonnet|haiku)-)?(\d)\.(\d)\b")  # -> claude-3-5-sonnet, claude-sonnet-4-5
_CLAUDE_VERSION_FIRST = re.compile(r"^claude-([4-9])(-\d)?-(opus|sonnet|haiku)\b")  # -> claude-sonnet-4-5
_CLAUDE_POINT_ZERO = re.compile(r"^claude-(opus|sonnet|haiku)-(\d)-0(?=$|@)")  # -> claude-sonnet-4
_VERTEX_VERSION = re.compile(r"@[\w.-]*$")  # claude-sonnet-4@20250514, claude-opus-4-6@default
# Cloud model versions: Bedrock's -v1:0, -v2:0, a -v1 on a Bedrock vendor's id (amazon.titan-text-express-v1)
# or on a Vertex id (claude-3-5-sonnet-v2@20241022). Other ids keep a -vN: deepseek-v3 and deepseek-v4 are
# different models, not versions of one family.
_BEDROCK_VERSION = re.compile(r"-v\d+:\d+$")
_BEDROCK_VENDOR_VERSION = re.compile(r"-v\d+(:\d+)?$")
_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")  # -2024-07-18, -20241022
_LATEST = re.compile(r"(:|-)latest$")
_AZURE_FINE_TUNE = re.compile(r"\.ft-[0-9a-z]+$")  # gpt-35-turbo-0613.ft-0e208c...


@dataclass(frozen=True)
class ModelNames:
    # (name, is_family) pairs, most specific first. An exact name is a lowercase id without
    # gateway prefix; a family name has no date, version or @suffix.
    candidates: tuple[tuple[str, bool], ...]
    provider_hint: str | None  # provider the id itself names (prefix, Bedrock or Vertex shape)
    # A Claude Bedrock geographic profile's id in the other geographies, which the catalog prices alike:
    # tried after the exact name, for the catalog's prices only (a user's price names its own geography)
    siblings: tuple[str, ...] = ()


def catalog_provider(provider: str | None) -> str | None:
    if not provider:
        return None
    return CATALOG_PROVIDERS.get(provider.lower(), provider.lower())


def cloud_of(model: str) -> str | None:
    """The cloud (catalog provider) a model id names by its prefix or shape (``azure/gpt-4o``, a Bedrock
    ARN), or None: a user's price or discount for that id holds for that cloud's calls only."""
    hint = bare_id(model)[1]
    return hint if hint in CLOUDS else None


def bare_id(model: str) -> tuple[str, str | None]:
    """Lowercase id without gateway prefixes (``azure/``, ``bedrock/converse/``), and the provider they named."""
    name = model.strip().lower()
    hint = None
    if arn := _BEDROCK_MODEL_ARN.match(name):
        name, hint = name[arn.end() :], "bedrock"
    while match := _PREFIX.match(name):
        hint = hint or catalog_provider(_PREFIX_PROVIDER.get(match.group(1), match.group(1)))
        name = name[match.end() :]
        if hint == "bedrock":
            name = _BEDROCK_ROUTE.sub("", name)
    return _claude_id(name), hint


def _claude_id(name: str) -> str:
    if not name.startswith("claude-"):
        return name
    name = _CLAUDE_DOTTED.sub(r"claude-\1\2-\3", name)
    name = _CLAUDE_VERSION_FIRST.sub(r"claude-\3-\1\2", name)
    return _CLAUDE_POINT_ZERO.sub(r"claude-\1-\2", name)


def is_model_arn(model: str) -> bool:
    """Whether ``model`` is a Bedrock ARN that names its model (``bare_id`` reads the model from it)."""
    return _BEDROCK_MODEL_ARN.match(model.strip().lower()) is not None


def base_name(name: str) -> str:
    """The family name that dated and versioned ids share."""
    name = _BEDROCK_GEO.sub("", name)
    cloud = _BEDROCK_VENDOR.match(name) or _VERTEX_VERSION.search(name)
    version = _BEDROCK_VENDOR_VERSION if cloud else _BEDROCK_VERSION
    if name.startswith("anthropic."):
        name = name[len("anthropic.") :]
    name = _VERTEX_VERSION.sub("", name)
    name = _AZURE_FINE_TUNE.sub("", name)
    name = _LATEST.sub("", name)
    name = version.sub("", name)
    return _DATE.sub("", name)


def is_regional(name: str) -> bool:
    return _BEDROCK_GEO.match(name) is not None


def model_names(model: str) -> ModelNames:
    name, hint = bare_id(model)
    if hint is None and (_BEDROCK_GEO.match(name) or _BEDROCK_VENDOR.match(name)):
        hint = "bedrock"
    elif hint is None and _VERTEX_VERSION.search(name) and name.startswith("claude"):
        hint = "vertex_ai"
    without_geo = _BEDROCK_GEO.sub("", name)
    candidates = [(name, False), (without_geo, False)]
    siblings: tuple[str, ...] = ()
    geography = _BEDROCK_GEO.match(name)
    if geography is not None and geography.group(1) in _PREMIUM_GEOGRAPHIES and without_geo.startswith("anthropic."):
        # A Claude geographic profile the catalog does not list (apac. Sonnet 4.5): priced as its model's
        # listed ones, which carry AWS's 10% premium over the global profile where the model has one
        siblings = tuple(f"{other}.{without_geo}" for other in _PREMIUM_GEOGRAPHIES if other != geography.group(1))
    if without_geo.startswith("ft:"):
        # ft:<base model>:<org>:<suffix>:<id>. OpenAI bills fine-tunes at their own rate when the
        # catalog has one (ft:gpt-4o-mini-2024-07-18); otherwise the base model's price is the floor.
        fine_tuned = without_geo.split(":")[1]
        candidates += [(f"ft:{fine_tuned}", False), (f"ft:{base_name(fine_tuned)}", True), (fine_tuned, False)]
        without_geo = fine_tuned
    candidates.append((base_name(without_geo), True))
    return ModelNames(candidates=tuple(dict.fromkeys(candidates)), provider_hint=hint, siblings=siblings)
