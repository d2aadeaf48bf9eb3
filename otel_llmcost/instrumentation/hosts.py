"""Which provider an API host belongs to, for both SDKs' clients (a ``base_url`` names it).

The openai SDK reaches many OpenAI-compatible APIs, and the anthropic SDK some Anthropic-compatible ones
(DeepSeek's ``https://api.deepseek.com/anthropic``); the span's ``gen_ai.provider.name``, and so the price
list a call is priced from, follows the host. Each adapter says what an unknown host is.
"""

from __future__ import annotations

from otel_llmcost import semconv as sc

# host -> gen_ai.provider.name (semconv well-known values). A name matches itself and its subdomains;
# one starting with "." or "-" matches as a suffix (Vertex's regional hosts: us-central1-aiplatform...).
_HOSTS = (
    ("api.anthropic.com", sc.PROVIDER_ANTHROPIC),  # its OpenAI-compatible endpoint too (/v1/)
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


def provider_for_host(host: str, unknown: str) -> str:
    """The provider of ``host``, or ``unknown``."""
    host = host.lower().rstrip(".")
    if not _BEDROCK_SERVICES.isdisjoint(host.split(".")):
        return sc.PROVIDER_AWS_BEDROCK
    if host.startswith("aiplatform.") and host.endswith(".rep.googleapis.com"):
        return sc.PROVIDER_GCP_VERTEX  # a multi-region endpoint (aiplatform.us.rep.googleapis.com)
    for name, provider in _HOSTS:
        if name[0] in ".-":
            if host.endswith(name):
                return provider
        elif host == name or host.endswith("." + name):
            return provider
    return unknown
