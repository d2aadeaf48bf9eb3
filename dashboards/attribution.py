"""Attribution / showback: who spends, on what, and against which budget."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, dashboard, piechart

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
    table_panel,
    usd_overrides,
)
from otel_llmcost.alerting.config import Config

UID = "llmcost-attribution"
MONTH_START = "toDateTime(toStartOfMonth($__toTime))"
# seconds in the month of $__toTime, for the month-end forecast
MONTH_SECONDS = f"dateDiff('second', {MONTH_START}, toDateTime(addMonths(toStartOfMonth($__toTime), 1)))"


def budget_sql(config: Config) -> str:
    """Monthly budget of ``Team`` from the thresholds file; NULL for a team without one."""
    if not config.budgets:
        return "CAST(NULL AS Nullable(Float64))"
    teams = ", ".join(f"'{team}'" for team in config.budgets)
    amounts = ", ".join(repr(float(amount)) for amount in config.budgets.values())
    return f"if(Team IN ({teams}), transform(Team, [{teams}], [{amounts}], 0.), NULL)"


def _by(dimension: str, label: str, limit: int = 20) -> str:
    return f"""SELECT
    if({dimension} = '', '(unattributed)', {dimension}) AS {label},
    sum(Calls) AS calls,
    toFloat64(sum(CostUSD)) AS spend,
    spend / sum(spend) OVER () AS share
FROM {rollup_range(f"{dimension}, Calls, CostUSD")}
GROUP BY {label}
ORDER BY spend DESC
LIMIT {limit}"""


def build(config: Config) -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID, "LLM cost: attribution", "LLM spend by team, feature, customer, user and environment; budgets."
        )
        .with_row(dashboard.Row("Showback"))
        .with_panel(
            usd_overrides(
                percent_overrides(
                    table_panel(
                        "Team budgets this month",
                        "Month-to-date spend per team at the end of the range, its monthly budget (thresholds file) and a "
                        "straight-line forecast for the month.",
                        f"""SELECT
    if(Team = '', '(unattributed)', Team) AS team,
    toFloat64(sum(CostUSD)) AS month_to_date,
    any({budget_sql(config)}) AS budget,
    month_to_date / budget AS budget_used,
    month_to_date * {MONTH_SECONDS} / greatest(dateDiff('second', {MONTH_START}, $__toTime), 1) AS forecast
FROM {rollup_range("Team, CostUSD", start=MONTH_START)}
GROUP BY Team
ORDER BY month_to_date DESC""",
                        width=24,
                    ),
                    "budget_used",
                ),
                "month_to_date",
                "budget",
                "forecast",
            )
        )
        .with_panel(
            usd_overrides(
                percent_overrides(
                    table_panel(
                        "Spend by team", "Calls and spend per team in the range.", _by("Team", "team"), width=8
                    ),
                    "share",
                ),
                "spend",
            )
        )
        .with_panel(
            usd_overrides(
                percent_overrides(
                    table_panel(
                        "Spend by feature",
                        "Calls and spend per feature in the range.",
                        f"""SELECT
    if(Team = '', '(unattributed)', Team) AS team,
    if(Feature = '', '(unattributed)', Feature) AS feature,
    sum(Calls) AS calls,
    toFloat64(sum(CostUSD)) AS spend,
    spend / nullIf({PRICED_CALLS}, 0) AS cost_per_request,
    spend / sum(spend) OVER () AS share
FROM {rollup_range("Team, Feature, Calls, CostUSD, UnpricedCalls, NoUsageCalls")}
GROUP BY team, feature
ORDER BY spend DESC
LIMIT 50""",
                        width=16,
                    ),
                    "share",
                ),
                "spend",
                "cost_per_request",
            )
        )
        .with_panel(
            usd_overrides(
                percent_overrides(
                    table_panel(
                        "Top customers",
                        "The 20 customers with the most spend in the range.",
                        _by("Customer", "customer"),
                        width=8,
                    ),
                    "share",
                ),
                "spend",
            )
        )
        .with_panel(
            usd_overrides(
                table_panel(
                    "Top users",
                    "The 20 users with the most spend in the range.",
                    f"""SELECT
    if(User = '', '(unattributed)', User) AS user,
    count() AS calls,
    toFloat64(sum(CostUSD)) AS spend
FROM {DB}.llm_calls
WHERE {CALLS_IN_RANGE}
GROUP BY user
ORDER BY spend DESC
LIMIT 20""",
                    width=8,
                ),
                "spend",
            )
        )
        .with_panel(
            piechart.Panel()
            .title("Spend by environment")
            .description("Spend per deployment environment.")
            .datasource(DATASOURCE)
            .height(8)
            .span(8)
            .unit("currencyUSD")
            .with_target(
                Query(f"""SELECT if(Environment = '', '(unset)', Environment) AS environment,
    toFloat64(sum(CostUSD)) AS spend
FROM {rollup_range("Environment, CostUSD")}
GROUP BY environment
ORDER BY spend DESC""")
            )
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(True))
        )
        .with_panel(
            series_panel(
                "Spend by team over time",
                "Spend over time, one series per team.",
                f"""SELECT $__timeInterval(Bucket) AS time, if(Team = '', '(unattributed)', Team) AS team,
    toFloat64(sum(CostUSD)) AS spend
FROM {rollup_series("Bucket, Team, CostUSD")}
GROUP BY time, team
ORDER BY time""",
                "currencyUSD",
                width=24,
            )
        )
    )
