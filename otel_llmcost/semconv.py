"""Every span, metric and baggage name otel-llmcost reads or writes.

This module is the single home for names. GenAI names follow the OpenTelemetry
GenAI semantic conventions v1.41 (``../shared/reference/semconv-genai``); the
cost names follow the open semconv proposal (``gen_ai.usage.cost.*``); names
that the conventions do not have live under ``llmcost.*``.
"""

from __future__ import annotations

# --- GenAI semantic conventions (v1.41) -------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_PROMPT_NAME = "gen_ai.prompt.name"

GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"  # includes cache read + cache creation
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"  # includes reasoning
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
# anthropic 2.x's own spans name cache writes this way; read it, never write it.
ANTHROPIC_SDK_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
# OpenLIT writes its cost here; read it, never write it.
OPENLIT_USAGE_COST = "gen_ai.usage.cost"
# Older GenAI conventions (and OpenLIT) name the provider here; read it, never write it.
GEN_AI_SYSTEM = "gen_ai.system"
# anthropic 2.x's own spans: the 1-hour share of cache writes; read it, never write it.
ANTHROPIC_SDK_USAGE_CACHE_WRITE_1H_TOKENS = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
# The service tier under the names anthropic 2.x's own spans use: the Anthropic adapter writes them
# too (requested and billed tier), so the store reads one name whichever span recorded the call.
ANTHROPIC_SDK_REQUEST_SERVICE_TIER = "anthropic.request.service_tier"
ANTHROPIC_SDK_RESPONSE_SERVICE_TIER = "anthropic.response.service_tier"
# AWS Bedrock (semconv aws-bedrock): the guardrail a request names, required on Bedrock spans when it has one
AWS_BEDROCK_GUARDRAIL_ID = "aws.bedrock.guardrail.id"

GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"

GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_AGENT_DESCRIPTION = "gen_ai.agent.description"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"  # opt-in content, like messages
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"  # opt-in content, like messages

SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# Resource attributes (OpenTelemetry semantic conventions)
SERVICE_NAME = "service.name"
DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT = "deployment.environment"  # the deprecated name, still common: read it as a fallback

# gen_ai.operation.name values
OP_CHAT = "chat"
OP_TEXT_COMPLETION = "text_completion"
OP_EMBEDDINGS = "embeddings"
OP_GENERATE_CONTENT = "generate_content"
OP_INVOKE_AGENT = "invoke_agent"
OP_EXECUTE_TOOL = "execute_tool"

# gen_ai.tool.type values
TOOL_TYPE_FUNCTION = "function"  # run by the application
TOOL_TYPE_EXTENSION = "extension"  # calls an external API on the agent's side (e.g. an MCP server)
TOOL_TYPE_DATASTORE = "datastore"  # retrieval

# gen_ai.provider.name values
PROVIDER_OPENAI = "openai"
PROVIDER_AZURE_OPENAI = "azure.ai.openai"
PROVIDER_AZURE_AI_INFERENCE = "azure.ai.inference"  # Microsoft Foundry's models (Claude on AnthropicFoundry)
PROVIDER_ANTHROPIC = "anthropic"
PROVIDER_AWS_BEDROCK = "aws.bedrock"
PROVIDER_GCP_VERTEX = "gcp.vertex_ai"
PROVIDER_GCP_GEMINI = "gcp.gemini"  # the generativelanguage.googleapis.com endpoint (AI Studio)
PROVIDER_DEEPSEEK = "deepseek"
PROVIDER_GROQ = "groq"
PROVIDER_X_AI = "x_ai"
PROVIDER_MISTRAL_AI = "mistral_ai"
PROVIDER_PERPLEXITY = "perplexity"
# Every well-known value of the semconv registry (v1.41), those other instrumentations write included
WELL_KNOWN_PROVIDERS = frozenset(
    (
        PROVIDER_OPENAI,
        "gcp.gen_ai",
        PROVIDER_GCP_VERTEX,
        PROVIDER_GCP_GEMINI,
        PROVIDER_ANTHROPIC,
        "cohere",
        PROVIDER_AZURE_AI_INFERENCE,
        PROVIDER_AZURE_OPENAI,
        "ibm.watsonx.ai",
        PROVIDER_AWS_BEDROCK,
        PROVIDER_PERPLEXITY,
        PROVIDER_X_AI,
        PROVIDER_DEEPSEEK,
        PROVIDER_GROQ,
        PROVIDER_MISTRAL_AI,
    )
)

# OpenAI-specific attributes (semconv openai registry)
OPENAI_API_TYPE = "openai.api.type"  # chat_completions | responses | embeddings | completions
OPENAI_REQUEST_SERVICE_TIER = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"
OPENAI_ATTRIBUTES = (
    OPENAI_API_TYPE,
    OPENAI_REQUEST_SERVICE_TIER,
    OPENAI_RESPONSE_SERVICE_TIER,
    OPENAI_RESPONSE_SYSTEM_FINGERPRINT,
)
# The providers whose telemetry carries them: "gen_ai.provider.name ... SHOULD be set consistently with
# provider-specific attributes" (a compatible server reached through the openai SDK, Groq's or Bedrock's, gets none)
OPENAI_PROVIDERS = frozenset((PROVIDER_OPENAI, PROVIDER_AZURE_OPENAI))

# --- cost (open semconv proposal) -------------------------------------------
GEN_AI_USAGE_COST_AMOUNT = "gen_ai.usage.cost.amount"  # float, USD, total
GEN_AI_USAGE_COST_CURRENCY = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE = "gen_ai.usage.cost.source"
COST_CURRENCY_USD = "USD"
COST_SOURCE_LOCAL = "local"  # priced in-process by otel-llmcost
COST_SOURCE_STORE = "store"  # priced at ingestion from the store's pricing table

# --- otel-llmcost's own names -----------------------------------------------
# Cost breakdown in USD (floats). reasoning is the share of output billed for reasoning.
LLMCOST_COST_INPUT = "llmcost.cost.input"
LLMCOST_COST_CACHE_READ = "llmcost.cost.cache_read"
LLMCOST_COST_CACHE_WRITE = "llmcost.cost.cache_write"
LLMCOST_COST_OUTPUT = "llmcost.cost.output"
LLMCOST_COST_REASONING = "llmcost.cost.reasoning"
LLMCOST_COST_REQUEST_FEES = "llmcost.cost.request_fees"
LLMCOST_COST_UNPRICED = "llmcost.cost.unpriced"
# A background response (OpenAI Responses, background=true) not finished when its create call returned:
# its usage and cost are on the span recorded when a retrieve finds it finished.
LLMCOST_COST_DEFERRED = "llmcost.cost.deferred"
LLMCOST_PRICING_ENTRY = "llmcost.pricing.entry"  # catalog key used
LLMCOST_PRICING_DATE = "llmcost.pricing.date"  # effective date of that price
LLMCOST_PRICING_TIER = "llmcost.pricing.tier"  # standard | batch | flex | priority
LLMCOST_PRICING_LONG_CONTEXT = "llmcost.pricing.long_context"  # bool: long-context rates applied

LLMCOST_USAGE_CACHE_WRITE_5M_TOKENS = "llmcost.usage.cache_write_5m.input_tokens"
LLMCOST_USAGE_CACHE_WRITE_1H_TOKENS = "llmcost.usage.cache_write_1h.input_tokens"
LLMCOST_USAGE_WEB_SEARCH_REQUESTS = "llmcost.usage.web_search_requests"
LLMCOST_TOKENS_ESTIMATED = "llmcost.tokens.estimated"  # bool: counted with tiktoken

# Attribution. Each is also a W3C baggage key of the same name, so it crosses services.
LLMCOST_TEAM = "llmcost.team"
LLMCOST_FEATURE = "llmcost.feature"
LLMCOST_CUSTOMER = "llmcost.customer"
LLMCOST_USER = "llmcost.user"
LLMCOST_PROMPT_NAME = GEN_AI_PROMPT_NAME
LLMCOST_PROMPT_FINGERPRINT = "llmcost.prompt.fingerprint"
LLMCOST_EXTRA_PREFIX = "llmcost.attr."  # extra attribution keys: llmcost.attr.<key>
ATTRIBUTION_KEYS = {
    "team": LLMCOST_TEAM,
    "feature": LLMCOST_FEATURE,
    "customer": LLMCOST_CUSTOMER,
    "user": LLMCOST_USER,
    "prompt_name": LLMCOST_PROMPT_NAME,
}

# Tool calls the model asked for in a response.
LLMCOST_TOOL_CALLS_COUNT = "llmcost.tool_calls.count"
LLMCOST_TOOL_CALLS_NAMES = "llmcost.tool_calls.names"
LLMCOST_TOOL_CALLS_IDS = "llmcost.tool_calls.ids"

# Agent / tool roll-ups, set on invoke_agent and execute_tool spans when they end.
LLMCOST_ROLLUP_COST = "llmcost.rollup.cost"
LLMCOST_ROLLUP_INPUT_TOKENS = "llmcost.rollup.input_tokens"
LLMCOST_ROLLUP_OUTPUT_TOKENS = "llmcost.rollup.output_tokens"
LLMCOST_ROLLUP_LLM_CALLS = "llmcost.rollup.llm_calls"
LLMCOST_ROLLUP_UNPRICED_CALLS = "llmcost.rollup.unpriced_calls"
# Calls begun beneath the scope and still running when it ended (a stream read after the block): not in
# its roll-up. Their spans are its descendants, so the trace-tree queries still count them.
LLMCOST_ROLLUP_PENDING_CALLS = "llmcost.rollup.pending_calls"

# Agent runs. On invoke_agent spans, when they end: the run's LLM calls (steps, retries included),
# the context growth, the runaway flag, retries, and per-tool cost of tool results resent to the model
# (parallel arrays, one entry per tool name).
LLMCOST_AGENT_STEPS = "llmcost.agent.steps"
LLMCOST_AGENT_MAX_INPUT_TOKENS = "llmcost.agent.max_input_tokens"  # largest input of one step
LLMCOST_AGENT_LAST_INPUT_TOKENS = "llmcost.agent.last_input_tokens"  # input of the last step
LLMCOST_AGENT_RUNAWAY = "llmcost.agent.runaway"  # bool: steps > max steps or a step's input > max context
LLMCOST_AGENT_RUNAWAY_REASON = "llmcost.agent.runaway.reason"  # "steps" | "context" | "steps,context"
LLMCOST_AGENT_RETRIES = "llmcost.agent.retries"
LLMCOST_AGENT_RETRY_COST = "llmcost.agent.retry_cost"  # USD spent on retried attempts
LLMCOST_AGENT_TOOL_NAMES = "llmcost.agent.tool_names"
LLMCOST_AGENT_TOOL_RESENT_INPUT_TOKENS = "llmcost.agent.tool_resent_input_tokens"
LLMCOST_AGENT_TOOL_RESENT_COST = "llmcost.agent.tool_resent_cost"
# On each LLM span inside a run (with gen_ai.agent.name): its 1-based index in the run, the run's
# invoke_agent span id (16 hex), and the tool results it carried (counted with tiktoken, priced at its input rate).
LLMCOST_AGENT_STEP = "llmcost.agent.step"
LLMCOST_AGENT_RUN_SPAN_ID = "llmcost.agent.run_span_id"
LLMCOST_TOOL_RESULTS_INPUT_TOKENS = "llmcost.tool_results.input_tokens"
LLMCOST_TOOL_RESULTS_COST = "llmcost.tool_results.cost"
LLMCOST_TOOL_RESULTS_CALL_IDS = "llmcost.tool_results.call_ids"
# A retry: the same prompt (fingerprint and request body) sent again in the same run.
LLMCOST_RETRY = "llmcost.retry"  # bool
LLMCOST_RETRY_OF = "llmcost.retry.of"  # span id (16 hex) of the first attempt
LLMCOST_RETRY_REASON = "llmcost.retry.reason"  # "error" | "discarded_output" (the previous attempt's fate)
# On execute_tool spans: what the tool's result cost in later requests while the span was still open.
LLMCOST_TOOL_RESENT_INPUT_TOKENS = "llmcost.tool.resent_input_tokens"
LLMCOST_TOOL_RESENT_COST = "llmcost.tool.resent_cost"

# Metrics
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST = "llmcost.client.cost"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
TOKEN_USAGE_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

# Environment variables
ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_CLICKHOUSE_URL = "OTEL_LLMCOST_CLICKHOUSE_URL"
ENV_PRICING_FILE = "OTEL_LLMCOST_PRICING_FILE"
ENV_TIKTOKEN_DIR = "OTEL_LLMCOST_TIKTOKEN_DIR"  # falls back to TIKTOKEN_CACHE_DIR
ENV_TIKTOKEN_CACHE_DIR = "TIKTOKEN_CACHE_DIR"  # tiktoken's own cache directory (read, never set)
ENV_DATA_GYM_CACHE_DIR = "DATA_GYM_CACHE_DIR"  # tiktoken's older name for it, read after TIKTOKEN_CACHE_DIR
ENV_DATA_DIR = "OTEL_LLMCOST_DATA_DIR"  # embedded store + spool; default ~/.local/share/otel-llmcost
ENV_XDG_DATA_HOME = "XDG_DATA_HOME"  # the data dir default follows it: $XDG_DATA_HOME/otel-llmcost
# OpenTelemetry SDK settings that mean "the user configured export": the default export stays out of the way.
ENV_OTEL_EXPORTER_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENV_OTEL_EXPORTER_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_PROTOCOL"
ENV_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
ENV_OTEL_TRACES_EXPORTER = "OTEL_TRACES_EXPORTER"
ENV_OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
ENV_OTEL_METRICS_EXPORTER = "OTEL_METRICS_EXPORTER"
ENV_OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
ENV_OTEL_RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
ENV_AGENT_MAX_STEPS = "OTEL_LLMCOST_AGENT_MAX_STEPS"  # runaway threshold, default 25
ENV_AGENT_MAX_CONTEXT_TOKENS = "OTEL_LLMCOST_AGENT_MAX_CONTEXT_TOKENS"  # runaway threshold, default 100000
ENV_COLLECTOR_TOKEN = "OTEL_LLMCOST_COLLECTOR_TOKEN"  # bearer token the collector requires, if set
ENV_THRESHOLDS_FILE = "OTEL_LLMCOST_THRESHOLDS_FILE"  # alert thresholds + team budgets (YAML) for `alerts check`
