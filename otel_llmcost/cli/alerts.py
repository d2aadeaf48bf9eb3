"""``otel-llmcost alerts``: evaluate the alert rules against ClickHouse, or list them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from otel_llmcost.alerting import config as alert_config
from otel_llmcost.alerting.evaluate import Outcome, diagnose, evaluate
from otel_llmcost.alerting.rules import Rule, build_rules
from otel_llmcost.cli.console import make_console
from otel_llmcost.reporting.timerange import TimeSpecError, parse_time, utcnow

RULES_HELP = "Thresholds file (default: $OTEL_LLMCOST_THRESHOLDS_FILE, else ./dashboards/thresholds.yaml, else built-in defaults)."
SHOWN_ROWS = 5
IDS = {"trace_id", "span_id", "fingerprint"}


@click.group()
def alerts() -> None:
    """Evaluate the alert rules against ClickHouse."""


def _config(rules_file: Path | None) -> alert_config.Config:
    try:
        return alert_config.load(rules_file if rules_file is not None else alert_config.default_path())
    except alert_config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@alerts.command("list")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path), help=RULES_HELP)
def list_rules(rules_file: Path | None) -> None:
    """The rules and their thresholds."""
    config = _config(rules_file)
    table = Table(title=f"Alert rules ({config.source})", title_justify="left")
    for column in ("rule", "severity", "fires when", "looks back"):
        table.add_column(column)
    for rule in build_rules(config):
        table.add_row(rule.name, rule.severity, f"{rule.unit} > {rule.threshold:g}", str(rule.lookback))
    console = make_console()
    console.print(table)
    if not config.budgets:
        console.print("team_budget is off: no team budgets in the thresholds file.")


@alerts.command("check")
@click.option("--rules", "rules_file", type=click.Path(dir_okay=False, path_type=Path), help=RULES_HELP)
@click.option("--clickhouse-url", envvar="OTEL_LLMCOST_CLICKHOUSE_URL", help="Store URL (default: the embedded store).")
@click.option(
    "--at", "at_text", default="now", show_default=True, help="Evaluate as of this time ('now', ISO time or 2h ago)."
)
def check(rules_file: Path | None, clickhouse_url: str | None, at_text: str) -> None:
    """Evaluate every rule; exit 1 when one fires, with the prompts and traces behind it."""
    config = _config(rules_file)
    try:
        at = parse_time(at_text, utcnow(), "--at")
    except TimeSpecError as exc:
        raise click.UsageError(str(exc)) from None
    from otel_llmcost.store.connection import open_store, store_database
    from otel_llmcost.store.errors import StoreError

    try:
        client = open_store(clickhouse_url)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    console = make_console()
    fired = False
    try:
        for rule in build_rules(config, store_database(client)):
            outcome = evaluate(client, rule, at)
            print_outcome(console, outcome)
            if outcome.fired:
                fired = True
                print_first_steps(console, client, outcome, at, config)
    finally:
        client.close()
    console.print(f"As of {at:%Y-%m-%d %H:%M:%S} UTC, thresholds from {config.source}.")
    if fired:
        raise SystemExit(1)


def print_outcome(console: Console, outcome: Outcome) -> None:
    rule = outcome.rule
    if not outcome.fired:
        console.print(f"[green]OK[/]      {rule.name}: {rule.title}")
        return
    console.print(f"[bold red]FIRING[/]  {rule.name}: {rule.title} ({rule.severity})")
    table = Table(show_edge=False)
    for label in rule.labels:
        table.add_column(label)
    table.add_column(rule.unit, justify="right")
    for instance in sorted(outcome.firing, key=lambda i: -i.value):
        table.add_row(*instance.labels.values(), f"{instance.value:,.4g} > {rule.threshold:g}")
    console.print(table)


def print_first_steps(console: Console, client, outcome: Outcome, at: datetime, config: alert_config.Config) -> None:
    rule: Rule = outcome.rule
    worst = max(outcome.firing, key=lambda i: i.value)
    console.print(
        f"  First steps for {', '.join(f'{k}={v}' for k, v in worst.labels.items())} "
        f"(runbook: {config.runbook_base_url}/{rule.name}.md):"
    )
    for number, result in enumerate(diagnose(client, rule, worst, at), 1):
        table = Table(title=f"{number}. {result.diagnostic.title}", title_justify="left", show_edge=False)
        for column in result.columns:
            # ids are what the reader copies into the trace view: never cut them
            table.add_column(column, no_wrap=column in IDS, min_width=32 if column == "trace_id" else None)
        for row in result.rows[:SHOWN_ROWS]:
            table.add_row(*(_show(value) for value in row))
        console.print(table if result.rows else f"{number}. {result.diagnostic.title}: no rows")


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
