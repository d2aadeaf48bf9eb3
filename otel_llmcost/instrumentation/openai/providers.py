"""Which provider a client talks to, from its base URL.

The openai SDK reaches many OpenAI-compatible APIs through ``base_url``; the span's
``gen_ai.provider.name`` (and so the price list the cost comes from) follows the host.
A host we do not know keeps ``openai``: local servers and gateways usually serve
OpenAI models or name them the OpenAI way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation import hosts

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
    """The provider an OpenAI-compatible client's host names; ``openai`` for a host we do not know."""
    return hosts.provider_for_host(host, sc.PROVIDER_OPENAI)


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
