"""Which provider a client talks to, from its base URL.

The openai SDK reaches many OpenAI-compatible APIs through ``base_url``; the span's
``gen_ai.provider.name`` (and so the price list the cost comes from) follows the host.
A host we do not know keeps ``openai``: local servers and gateways usually serve
OpenAI models or name them the OpenAI way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from otel_llmcost import semconv as sc

# host -> gen_ai.provider.name (semconv well-known values). A name matches itself and its subdomains;
# one starting with "." or "-" matches as a suffix (Vertex's regional hosts: us-central1-aiplatform...).
_HOSTS = (
    ("api.openai.com", sc.PROVIDER_OPENAI),
    (".openai.azure.com", sc.PROVIDER_AZURE_OPENAI),
    (".cognitiveservices.azure.com", sc.PROVIDER_AZURE_OPENAI),
    (".services.ai.azure.com", sc.PROVIDER_AZURE_OPENAI),
    (".models.ai.azure.com", sc.PROVIDER_AZURE_AI_INFERENCE),  # a serverless model (DeepSeek-R1, Mistral) on Azure
    (".openai.azure.us", sc.PROVIDER_AZURE_OPENAI),  # Azure Government
    (".openai.azure.cn", sc.PROVIDER_AZURE_OPENAI),  # Azure in China
    ("api.deepseek.com", sc.PROVIDER_DEEPSEEK),
    ("api.groq.com", sc.PROVIDER_GROQ),
    ("api.x.ai", sc.PROVIDER_X_AI),
    ("api.mistral.ai", sc.PROVIDER_MISTRAL_AI),
    ("codestral.mistral.ai", sc.PROVIDER_MISTRAL_AI),
    ("api.perplexity.ai", sc.PROVIDER_PERPLEXITY),
    ("aiplatform.googleapis.com", sc.PROVIDER_GCP_VERTEX),
    ("-aiplatform.googleapis.com", sc.PROVIDER_GCP_VERTEX),
    ("generativelanguage.googleapis.com", sc.PROVIDER_GCP_GEMINI),
)
# Bedrock's OpenAI-compatible services, named by a label of the host in every AWS partition
# (bedrock-mantle.us-east-1.api.aws, bedrock-runtime.cn-north-1.amazonaws.com.cn, a VPC endpoint's
# vpce-0a1b.bedrock-runtime.us-east-1.vpce.amazonaws.com). Other AWS hosts (an EC2 or load balancer
# name in front of a vLLM) are not Bedrock.
_BEDROCK_SERVICES = frozenset(("bedrock-runtime", "bedrock-runtime-fips", "bedrock-mantle"))
_DEFAULT_PORTS = {"https": 443, "http": 80}
_MAX_CACHED = 256


class Server(NamedTuple):
    provider: str
    address: str | None
    port: int | None


_cache: dict[int, tuple[Any, type, Server]] = {}


def server_of(client: Any) -> Server:
    """Provider, host and port of a client; cached per base URL object and client class (reading an
    httpx URL's parts costs more than the rest of the request description). The class counts: an
    ``AzureOpenAI`` is Azure whatever its URL, and one may be given another client's URL object."""
    # base_url is a property over _base_url in every SDK version (openai 3.x's imports a module on each read)
    url = client.__dict__.get("_base_url") or client.base_url
    hit = _cache.get(id(url))
    if hit is not None and hit[0] is url and hit[1] is type(client):
        return hit[2]
    server = _server(url, azure=_is_azure_client(client))
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[id(url)] = (url, type(client), server)  # the URL is kept so its id cannot be reused while cached
    return server


def is_openai_api(server: Server) -> bool:
    """The OpenAI API itself (not a compatible server or gateway that happens to say ``openai``)."""
    address = server.address or ""
    return address == "api.openai.com" or address.endswith(".api.openai.com")


def provider_for_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not _BEDROCK_SERVICES.isdisjoint(host.split(".")):
        return sc.PROVIDER_AWS_BEDROCK
    for name, provider in _HOSTS:
        if name[0] in ".-":
            if host.endswith(name):
                return provider
        elif host == name or host.endswith("." + name):
            return provider
    return sc.PROVIDER_OPENAI


def _server(url: Any, azure: bool) -> Server:
    host = url.host or None
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    provider = sc.PROVIDER_AZURE_OPENAI if azure else provider_for_host(host or "")
    if provider == sc.PROVIDER_AZURE_OPENAI and not azure and _is_foundry_model_inference(host or "", url.path):
        provider = sc.PROVIDER_AZURE_AI_INFERENCE
    return Server(provider, host, port)


def _is_foundry_model_inference(host: str, path: str) -> bool:
    """A Foundry resource's model inference endpoint (``https://acme.services.ai.azure.com/models``), which
    serves every model of its catalog (DeepSeek, Llama, Mistral); the resource's ``/openai/`` paths are
    Azure OpenAI."""
    return host.lower().rstrip(".").endswith(".services.ai.azure.com") and (path + "/").startswith("/models/")


def _is_azure_client(client: Any) -> bool:
    # AzureOpenAI may sit behind a custom domain (a gateway, private endpoint): the class decides.
    from openai.lib.azure import BaseAzureClient

    return isinstance(client, BaseAzureClient)
