"""Which provider serves an anthropic client's calls, and which model id the call is billed by.

One SDK reaches Claude on Anthropic's API, on AWS Bedrock (``AnthropicBedrock``) and on Google
Vertex AI (``AnthropicVertex``); the provider picks the price list. anthropic 2.x names it on
the client class (``_gen_ai_provider_name``, for its own spans); older SDKs are told apart by
their clients' base classes. The plain client pointed at another vendor's Anthropic-compatible API
(``base_url="https://api.deepseek.com/anthropic"``) is named by its host.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import core, hosts
from otel_llmcost.pricing.names import is_model_arn

# Base classes of the cloud clients in every SDK major -> gen_ai.provider.name
_CLOUD_BASES = {
    "BaseBedrockClient": sc.PROVIDER_AWS_BEDROCK,
    "BaseMantleClient": sc.PROVIDER_AWS_BEDROCK,  # AnthropicBedrockMantle, on anthropic 0.x
    "BaseVertexClient": sc.PROVIDER_GCP_VERTEX,
    # Claude on Microsoft Foundry, billed by Azure (the SDK names it anthropic): priced at Anthropic's
    # list price, with the user's Azure discounts
    "BaseFoundryClient": sc.PROVIDER_AZURE_AI_INFERENCE,
}
# The clouds whose request model id is what they bill (Foundry's is a deployment's name: its response says the model)
CLOUDS = frozenset((sc.PROVIDER_AWS_BEDROCK, sc.PROVIDER_GCP_VERTEX))
_DEFAULT_PORTS = {"https": 443, "http": 80}
_MAX_CACHED = 256


class Server(NamedTuple):
    provider: str
    address: str | None
    port: int | None


_cache: dict[int, tuple[Any, type, Server]] = {}


def server_of(client: Any) -> Server:
    """Provider, host and port of a client, cached per base URL object and client class (reading an
    httpx URL's parts costs more than the rest of the request description). The class names the
    provider, and one client may be given another's URL object."""
    # base_url is a property over _base_url in every SDK version (openai 3.x's imports a module on each read)
    url = client.__dict__.get("_base_url") or client.base_url
    hit = _cache.get(id(url))
    if hit is not None and hit[0] is url and hit[1] is type(client):
        return hit[2]
    host = url.host or None
    provider = provider_of(type(client))
    if provider == sc.PROVIDER_ANTHROPIC and host:
        # Anthropic's client on another vendor's Anthropic-compatible API (DeepSeek's /anthropic); a host we
        # do not know (a proxy) is Anthropic's. Claude on Azure is Foundry's, whatever the host says.
        provider = hosts.provider_for_host(host, sc.PROVIDER_ANTHROPIC)
        if provider == sc.PROVIDER_AZURE_OPENAI:
            provider = sc.PROVIDER_AZURE_AI_INFERENCE
    server = Server(provider, host, url.port or _DEFAULT_PORTS.get(url.scheme))
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[id(url)] = (url, type(client), server)  # the URL is kept so its id cannot be reused while cached
    return server


@functools.cache
def provider_of(client_class: type) -> str:
    for base in client_class.__mro__:
        provider = _CLOUD_BASES.get(base.__name__)
        if provider is not None:
            return provider
    named = getattr(client_class, "_gen_ai_provider_name", None)
    if isinstance(named, str) and named:
        return named
    return sc.PROVIDER_ANTHROPIC


def bill_by_request_model(response: core.Response, request: core.Request) -> core.Response:
    """On Bedrock and Vertex the request's model id names what is billed: a cross-region inference
    profile (``us.anthropic.claude-...``) costs more than the bare model the response names. The
    response model stays on the span; only the price lookup uses the request's id, or the model an ARN
    names (a system-defined inference profile's, a foundation model's). Other ARNs (an application
    inference profile) name nothing a price list knows, so the response model prices them."""
    if response.model and bills_by_request_model(request.provider, request.model):
        response.attributes[sc.GEN_AI_RESPONSE_MODEL] = response.model
        response.model = None
    return response


def bills_by_request_model(provider: str, request_model: str | None) -> bool:
    """Whether a call's price is looked up by the model id its request named (``bill_by_request_model``)."""
    if provider not in CLOUDS or not request_model:
        return False
    return not request_model.startswith("arn:") or is_model_arn(request_model)


# Vertex AI's regional endpoints ({region}-aiplatform.googleapis.com; the global one has no region) bill Claude
# Sonnet 4.5 and every later model 10% over the global endpoint (Anthropic's "Claude on Vertex AI" page,
# "Global vs regional endpoints"); older models keep one price. The catalog's sources list the global price.
_REGIONAL_VERTEX_HOST = re.compile(r"^[a-z]+-[a-z]+\d+-aiplatform\.googleapis\.com$")
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d)(?!\d))?")


def regional_premium_not_priced(provider: str, address: str | None, model: str | None) -> None:
    """Say once per model that a Claude call on a regional Vertex endpoint is priced at the global rates,
    understated by the regional premium. Cheap for every other call: the caller checks the provider."""
    if provider != sc.PROVIDER_GCP_VERTEX or not address or not model or not _REGIONAL_VERTEX_HOST.match(address):
        return
    version = _CLAUDE_VERSION.search(model)
    if version is None or (int(version.group(1)), int(version.group(2) or 0)) < (4, 5):
        return
    core.log_once(
        f"anthropic.vertex_regional.{model}",
        "otel-llmcost: Claude calls to %s on Vertex AI's regional endpoint (%s) cost 10%% more than on the global "
        "endpoint, a premium the catalog's sources do not list: their spans are priced at the global rates, "
        "understated by it",
        model,
        address,
    )
