"""Spend overview: how much, on what, and how efficiently."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, dashboard, piechart
from grafana_foundation_sdk.models.dashboard import DynamicConfigValue

from dashboards.clickhouse import (
    CALLS_IN_RANGE,
    DATASOURCE,
    DB,
    PRICED_CALLS,
    Query,
    new_dashboard,
    percent_overrides,
    rollup_range,
    rollup_series,
    series_panel,
    stat_panel,
    table_panel,
    usd_overrides,
)
from otel_llmcost.alerting.config import OTHER_TIER, Config

UID = "llmcost-overview"
RANGE_SECONDS = "dateDiff('second', $__fromTime, $__toTime)"


def tier_sql(config: Config) -> str:
    """The model's tier from the thresholds file's model_tiers patterns (first match wins)."""
    branches = ", ".join(f"match(Model, '{pattern}'), '{tier}'" for tier, pattern in config.model_tiers)
    return f"multiIf({branches}, '{OTHER_TIER}')"


def build(config: Config) -> dashboard.Dashboard:
    trailing_start = f"$__fromTime - toIntervalSecond(7 * {RANGE_SECONDS})"
    return (
        new_dashboard(UID, "LLM cost: spend overview", "Spend, tokens and efficiency of LLM calls (otel-llmcost).")
        .with_row(dashboard.Row("Spend"))
        .with_panel(
            stat_panel(
                "Spend in range",
                "Total LLM spend in the time range (priced calls).",
                f"SELECT toFloat64(sum(CostUSD)) AS spend FROM {rollup_range('CostUSD')}",
                "currencyUSD",
            )
        )
        .with_panel(
            stat_panel(
                "Spend vs trailing average",
                "Spend in the range, the average spend of the 7 ranges of the same length before it, and their ratio.",
                f"""SELECT
    toFloat64(sumIf(CostUSD, Bucket >= $__fromTime)) AS spend,
    toFloat64(sumIf(CostUSD, Bucket < $__fromTime)) / 7 AS trailing_average,
    spend / nullIf(trailing_average, 0) AS ratio
FROM {rollup_range("Bucket, CostUSD", start=trailing_start)}""",
                "currencyUSD",
                width=9,
            ).override_by_name("ratio", [DynamicConfigValue(id_val="unit", value="none")])
        )
        .with_panel(
            stat_panel(
                "Cost per request",
                "Spend divided by the calls that have a cost (unpriced calls, and failed calls that came back "
                "without usage, have none to average).",
                f"SELECT toFloat64(sum(CostUSD)) / nullIf({PRICED_CALLS}, 0) AS cost_per_request "
                f"FROM {rollup_range('CostUSD, Calls, UnpricedCalls, NoUsageCalls')}",
                "currencyUSD",
                width=4,
                decimals=4,
            )
        )
        .with_panel(
            stat_panel(
                "Requests",
                "LLM calls in the range, failed ones included.",
                f"SELECT sum(Calls) AS requests FROM {rollup_range('Calls')}",
                "short",
                width=5,
            )
        )
        .with_panel(
            series_panel(
                "Spend by model",
                "Spend over time, one series per model.",
                f"""SELECT $__timeInterval(Bucket) AS time, Model, toFloat64(sum(CostUSD)) AS spend
FROM {rollup_series("Bucket, Model, CostUSD")}
GROUP BY time, Model
ORDER BY time""",
                "currencyUSD",
                width=16,
            )
        )
        .with_panel(
            piechart.Panel()
            .title("Model-tier mix")
            .description("Spend by model tier (tiers: model_tiers in the thresholds file; the rest is 'standard').")
            .datasource(DATASOURCE)
            .height(8)
            .span(8)
            .unit("currencyUSD")
            .with_target(
                Query(f"""SELECT {tier_sql(config)} AS tier, toFloat64(sum(CostUSD)) AS spend
FROM {rollup_range("Model, CostUSD")}
GROUP BY tier
ORDER BY spend DESC""")
            )
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(True))
        )
        .with_panel(
            usd_overrides(
                percent_overrides(
                    table_panel(
                        "Spend by model and provider",
                        "Calls, tokens and spend per provider and model.",
                        f"""SELECT
    Provider, Model,
    sum(Calls) AS calls,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens,
    toFloat64(sum(CostUSD)) AS spend,
    spend / nullIf({PRICED_CALLS}, 0) AS cost_per_request,
    spend / sum(spend) OVER () AS share
FROM {rollup_range("Provider, Model, Calls, InputTokens, OutputTokens, CostUSD, UnpricedCalls, NoUsageCalls")}
GROUP BY Provider, Model
ORDER BY spend DESC""",
                        width=24,
                    ),
                    "share",
                ),
                "spend",
                "cost_per_request",
            )
        )
        .with_row(dashboard.Row("Tokens and efficiency"))
        .with_panel(
            stat_panel(
                "Tokens in / out",
                "Input tokens (cached included) and output tokens (reasoning included).",
                f"SELECT sum(InputTokens) AS input_tokens, sum(OutputTokens) AS output_tokens "
                f"FROM {rollup_range('InputTokens, OutputTokens')}",
                "short",
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Cache-hit rate",
                "Cached input tokens / input tokens: the share of input billed at the cache-read rate.",
                f"SELECT sum(CacheReadTokens) / nullIf(sum(InputTokens), 0) AS cache_hit_rate "
                f"FROM {rollup_range('CacheReadTokens, InputTokens')}",
                "percentunit",
                width=4,
            )
        )
        .with_panel(
            stat_panel(
                "Batch share",
                "Share of spend on the Batch tier (about half price).",
                f"SELECT toFloat64(sumIf(CostUSD, ServiceTier = 'batch')) / nullIf(toFloat64(sum(CostUSD)), 0) AS batch_share "
                f"FROM {DB}.llm_calls WHERE {CALLS_IN_RANGE}",
                "percentunit",
                width=4,
            )
        )
        .with_panel(
            stat_panel(
                "Unpriced calls",
                "Calls to models without a price: their cost is missing everywhere. Add the price and reprice.",
                f"SELECT sum(UnpricedCalls) AS unpriced_calls FROM {rollup_range('UnpricedCalls')}",
                "short",
                width=5,
            )
        )
        .with_panel(
            stat_panel(
                "Estimated token share",
                "Share of tokens counted with tiktoken because the provider reported no usage.",
                f"SELECT sumIf(InputTokens + OutputTokens, TokensEstimated = 1) / nullIf(sum(InputTokens + OutputTokens), 0) "
                f"AS estimated_share FROM {DB}.llm_calls WHERE {CALLS_IN_RANGE}",
                "percentunit",
                width=5,
            )
        )
        .with_panel(
            series_panel(
                "Tokens over time",
                "Input, cached input and output tokens.",
                f"""SELECT $__timeInterval(Bucket) AS time,
    sum(InputTokens) - sum(CacheReadTokens) AS uncached_input,
    sum(CacheReadTokens) AS cached_input,
    sum(OutputTokens) AS output
FROM {rollup_series("Bucket, InputTokens, CacheReadTokens, OutputTokens")}
GROUP BY time
ORDER BY time""",
                "short",
                width=24,
            )
        )
    )
