"""Grafana building blocks for the ClickHouse datasource: its query type, variables, panels and
the SQL fragments every panel shares.

The foundation SDK has no builder for grafana-clickhouse-datasource, so ``ClickHouseQuery``
is the plugin's query model (``CHSqlQuery``: rawSql, format, editorType 'sql', queryType).
``format`` follows sqlds: 0 time series, 1 table, 3 trace.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common, dashboard, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import (
    BigValueGraphMode,
    GraphDrawStyle,
    StackingMode,
)

PLUGIN = "grafana-clickhouse-datasource"
DATASOURCE = model.DataSourceRef(type_val=PLUGIN, uid="${datasource}")
FORMAT = {"timeseries": 0, "table": 1, "traces": 3}
DB = "${database}"
# Data link of a trace id cell: the drill-down dashboard with that trace in its trace panel.
TRACE_LINK = "/d/llmcost-drilldown?var-trace_id=${__value.raw}&${__url_time_range}&${datasource:queryparam}"

# Every variable panels filter on, and the llm_calls/rollup column it filters.
FILTER_VARIABLES = {
    "service": "ServiceName",
    "environment": "Environment",
    "team": "Team",
    "feature": "Feature",
    "model": "Model",
}


class ClickHouseQuery(cogvariants.Dataquery):
    def __init__(self, ref_id: str, sql: str, query_type: str, datasource_uid: str) -> None:
        self.ref_id = ref_id
        self.sql = sql
        self.query_type = query_type
        self.datasource_uid = datasource_uid

    def to_json(self) -> dict[str, Any]:
        return {
            "datasource": {"type": PLUGIN, "uid": self.datasource_uid},
            "editorType": "sql",
            "format": FORMAT[self.query_type],
            "queryType": self.query_type,
            "rawSql": self.sql,
            "refId": self.ref_id,
        }


class Query(cogbuilder.Builder[ClickHouseQuery]):
    def __init__(
        self, sql: str, query_type: str = "table", ref_id: str = "A", datasource_uid: str = "${datasource}"
    ) -> None:
        # Dashboards name the datasource variable; alert rules need the data source's real uid.
        self._query = ClickHouseQuery(ref_id, sql, query_type, datasource_uid)

    def build(self) -> ClickHouseQuery:
        return self._query


# --- SQL fragments ---------------------------------------------------------------------------


def filters(columns: dict[str, str] | None = None) -> str:
    """The dashboard's variable filters; a variable set to All filters nothing."""
    columns = columns or FILTER_VARIABLES
    return " AND ".join(
        f"$__conditionalAll({column} IN (${{{variable}:singlequote}}), ${variable})"
        for variable, column in columns.items()
    )


def rollup_range(columns: str, start: str = "$__fromTime", end: str = "$__toTime") -> str:
    """Rollup rows of [start, end): whole hours from llm_cost_1h, the ragged ends from llm_cost_1m,
    so a total is exact to the minute and a month still reads hourly rows."""
    first_hour = f"toStartOfHour({start} + 3599)"  # the first whole hour at or after start
    last_hour = f"toStartOfHour({end})"
    return f"""(
    SELECT {columns} FROM {DB}.llm_cost_1h
    WHERE Bucket >= {first_hour} AND Bucket < {last_hour} AND {filters()}
    UNION ALL
    SELECT {columns} FROM {DB}.llm_cost_1m
    WHERE ((Bucket >= {start} AND Bucket < least({first_hour}, {end}))
        OR (Bucket >= greatest({first_hour}, {last_hour}) AND Bucket < {end}))
      AND {filters()}
)"""


def rollup_series(columns: str) -> str:
    """Rollup rows for a time series: minute rows for intervals under an hour, else hourly rows."""
    return f"""(
    SELECT {columns} FROM {DB}.llm_cost_1m WHERE $__interval_s < 3600 AND $__timeFilter(Bucket) AND {filters()}
    UNION ALL
    SELECT {columns} FROM {DB}.llm_cost_1h WHERE $__interval_s >= 3600 AND $__timeFilter(Bucket) AND {filters()}
)"""


# Rollup calls that have a cost to average: not unpriced, and not failed before any usage came back.
PRICED_CALLS = "sum(Calls) - sum(UnpricedCalls) - sum(NoUsageCalls)"

CALLS_IN_RANGE = f"Timestamp >= $__fromTime AND Timestamp < $__toTime AND {filters()}"


# --- variables -------------------------------------------------------------------------------


def variables() -> list[cogbuilder.Builder[model.VariableModel]]:
    result: list[cogbuilder.Builder[model.VariableModel]] = [
        dashboard.DatasourceVariable("datasource").label("ClickHouse").type(PLUGIN),
        dashboard.ConstantVariable("database").value("otel").description("Database of the otel-llmcost tables"),
    ]
    for variable, column in FILTER_VARIABLES.items():
        sql = f"SELECT DISTINCT {column} FROM {DB}.llm_cost_1h WHERE $__timeFilter(Bucket) ORDER BY 1"
        result.append(
            dashboard.QueryVariable(variable)
            .label(variable.capitalize())
            .datasource(DATASOURCE)
            .query({"editorType": "sql", "format": 1, "queryType": "table", "rawSql": sql, "refId": variable})
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True)
            .include_all(True)
            .current(model.VariableOption(selected=True, text="All", value="$__all"))
            .sort(model.VariableSort.ALPHABETICAL_ASC)
        )
    return result


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    builder = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["otel-llmcost", "llm", "cost"])
        .time("now-24h", "now")
        .timezone("utc")
        .refresh("5m")
        .editable()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
    )
    for variable in variables():
        builder = builder.with_variable(variable)
    for other in DASHBOARD_LINKS:
        if other[0] != uid:
            builder = builder.link(
                dashboard.DashboardLink(other[1])
                .type(model.DashboardLinkType.LINK)
                .url(f"/d/{other[0]}")
                .keep_time(True)
                .include_vars(True)
            )
    return builder


DASHBOARD_LINKS = (
    ("llmcost-overview", "Spend overview"),
    ("llmcost-attribution", "Attribution"),
    ("llmcost-drilldown", "Spike drill-down"),
    ("llmcost-agents", "Agents & tools"),
)


# --- panels ----------------------------------------------------------------------------------


def stat_panel(
    title: str, description: str, sql: str, unit: str, width: int = 6, decimals: int | None = None
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(Query(sql))
        .unit(unit)
        .height(4)
        .span(width)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).fields("/.*/").values(False))
    )
    return panel.decimals(decimals) if decimals is not None else panel


def table_panel(
    title: str, description: str, sql: str, width: int = 12, height: int = 8, query_type: str = "table"
) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(Query(sql, query_type))
        .height(height)
        .span(width)
    )


def series_panel(
    title: str, description: str, sql: str, unit: str, width: int = 12, stacked: bool = True
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(Query(sql, "timeseries"))
        .unit(unit)
        .height(8)
        .span(width)
        .draw_style(GraphDrawStyle.BARS)
        .fill_opacity(80)
    )
    return panel.stacking(common.StackingConfig().mode(StackingMode.NORMAL)) if stacked else panel


def usd_overrides(panel: Any, *fields: str) -> Any:
    """Table columns shown as dollars."""
    for name in fields:
        panel = panel.override_by_name(name, [model.DynamicConfigValue(id_val="unit", value="currencyUSD")])
    return panel


def percent_overrides(panel: Any, *fields: str) -> Any:
    for name in fields:
        panel = panel.override_by_name(name, [model.DynamicConfigValue(id_val="unit", value="percentunit")])
    return panel


def link_override(panel: Any, field: str, title: str, url: str) -> Any:
    link = {"title": title, "url": url}
    return panel.override_by_name(field, [model.DynamicConfigValue(id_val="links", value=[link])])
