"""``otel-llmcost report``: spend by model, team, feature and prompt, in the terminal or as HTML."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from otel_llmcost.cli.console import make_console
from otel_llmcost.reporting import html, queries
from otel_llmcost.reporting.timerange import TimeSpecError, parse_time, utcnow


@click.command()
@click.option("--since", default="24h", show_default=True, help="Start: a duration ago (24h, 7d) or an ISO time.")
@click.option("--until", "until", default="now", show_default=True, help="End: 'now', a duration ago or an ISO time.")
@click.option(
    "--by",
    "by",
    default=",".join(queries.DEFAULT_BY),
    show_default=True,
    help=f"Breakdowns, comma-separated: {', '.join(queries.DIMENSIONS)}.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write a self-contained HTML page with charts to this file.",
)
@click.option("--top", default=15, show_default=True, help="Rows per breakdown.")
@click.option("--clickhouse-url", envvar="OTEL_LLMCOST_CLICKHOUSE_URL", help="Store URL (default: the embedded store).")
def report(since: str, until: str, by: str, html_file: Path | None, top: int, clickhouse_url: str | None) -> None:
    """Spend by model, team, feature and prompt for a time range."""
    try:
        now = utcnow()
        start, end = parse_time(since, now, "--since"), parse_time(until, now, "--until")
        dimensions = queries.parse_by(by)
    except (TimeSpecError, queries.UnknownDimension) as exc:
        raise click.UsageError(str(exc)) from None
    if start >= end:
        raise click.UsageError(f"--since ({start:%Y-%m-%d %H:%M}) must be before --until ({end:%Y-%m-%d %H:%M}).")
    from otel_llmcost.store.connection import open_store
    from otel_llmcost.store.errors import StoreError

    try:
        client = open_store(clickhouse_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        result = queries.build_report(client, start, end, dimensions, top)
    finally:
        client.close()
    print_report(make_console(), result)
    if html_file:
        html_file.write_text(html.render(result), encoding="utf-8")
        click.echo(f"HTML report: {html_file}")


def print_report(console: Console, result: queries.Report) -> None:
    t = result.totals
    console.print(
        f"[bold]LLM spend[/] {result.start:%Y-%m-%d %H:%M} – {result.end:%Y-%m-%d %H:%M} UTC: "
        f"[bold]${t['spend']:,.4f}[/] over {int(t['calls']):,} calls, {int(t['input_tokens']):,} input / "
        f"{int(t['output_tokens']):,} output tokens, cache-hit rate {t['cache_hit_rate']:.1%}"
    )
    if t["calls"] == 0:
        console.print("No LLM calls in this range. Is the app instrumented and exporting to this store?")
        return
    if t["unpriced_calls"]:
        console.print(
            f"[yellow]{int(t['unpriced_calls']):,} calls have no price[/]: their cost is missing (see `alerts check`)."
        )
    peak = max(result.series, key=lambda point: point[1])
    console.print(
        f"Peak {('hour' if result.series_step.total_seconds() == 3600 else 'day')}: {peak[0]:%Y-%m-%d %H:%M} (${peak[1]:,.4f})"
    )
    for breakdown in result.breakdowns:
        table = Table(title=f"By {breakdown.dimension}", title_justify="left")
        for header in breakdown.headers:
            # a fingerprint is what the reader searches for: never cut it
            table.add_column(header, min_width=16 if header == "fingerprint" else None)
        for header in ("calls", "input tokens", "output tokens", "spend"):
            table.add_column(header, justify="right")
        for row in breakdown.rows:
            *keys, calls, input_tokens, output_tokens, spend = row
            table.add_row(
                *(str(k) for k in keys), f"{calls:,}", f"{input_tokens:,}", f"{output_tokens:,}", f"${spend:,.4f}"
            )
        console.print(table)
