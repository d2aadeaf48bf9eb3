"""``otel-llmcost schema`` (create, upgrade, show the ClickHouse tables) and ``otel-llmcost reprice``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from otel_llmcost.cli.console import make_console
from otel_llmcost.store.connection import DEFAULT_DATABASE, connect, open_store, store_database
from otel_llmcost.store.errors import StoreError

URL_HELP = "chdb:///path or http(s)://user:password@host:8123/database (default: OTEL_LLMCOST_CLICKHOUSE_URL, else the embedded store)."
_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Moment(click.ParamType):
    """A point in time: ISO 8601 (``2026-07-01``, ``2026-07-01T12:00``; UTC unless it says otherwise)
    or an age such as ``30m``, ``24h``, ``7d``, ``2w`` (that long before now)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        relative = _RELATIVE.match(text)
        if relative:
            return datetime.now(timezone.utc) - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{text!r} is not a time: use ISO 8601 (2026-07-01 or 2026-07-01T12:00) or an age (30m, 24h, 7d, 2w)"
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _spool_progress(progress: Progress) -> Callable[[int, int], None]:
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task("ingesting spooled spans", total=total)
        progress.update(task, completed=done)

    return update


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )


@click.group()
def schema() -> None:
    """Create, upgrade or show the ClickHouse tables (otel_traces, llm_calls, rollups, prices)."""


@schema.command()
@click.option("--clickhouse-url", envvar="OTEL_LLMCOST_CLICKHOUSE_URL", help=URL_HELP)
@click.option(
    "--database", default=None, help=f"Database for the tables (default: the URL's, else {DEFAULT_DATABASE})."
)
@click.option(
    "--cluster", default=None, help="ClickHouse cluster name: ON CLUSTER DDL with Replicated and Distributed tables."
)
@click.option(
    "--ttl-days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep raw spans, calls and minute rollups this many days.",
)
def apply(clickhouse_url: str | None, database: str | None, cluster: str | None, ttl_days: int | None) -> None:
    """Create the tables, or apply the migrations they lack (safe to repeat)."""
    from otel_llmcost.store.schema import apply_schema

    console = make_console()
    with _store_errors():
        client = connect(clickhouse_url, **({"database": database} if database else {}))
        try:
            applied = apply_schema(client, database=store_database(client), cluster=cluster, ttl_days=ttl_days)
        finally:
            client.close()
    if applied:
        console.print(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        console.print("The schema is up to date." + (f" Retention set to {ttl_days} days." if ttl_days else ""))


@schema.command()
@click.option("--database", default=DEFAULT_DATABASE, show_default=True, help="Database for the tables.")
@click.option(
    "--cluster", default=None, help="Show the cluster variant (ON CLUSTER, Replicated and Distributed tables)."
)
@click.option("--ttl-days", type=click.IntRange(min=1), default=None, help="Include this retention in the DDL.")
def show(database: str, cluster: str | None, ttl_days: int | None) -> None:
    """Print the DDL, to review it or to run it yourself."""
    from otel_llmcost.store.schema import schema_statements

    with _store_errors():
        statements = schema_statements(database, cluster, ttl_days)
    click.echo(";\n\n".join(statements) + ";")


@click.command()
@click.option(
    "--since", required=True, type=Moment(), help="Reprice calls from this time (ISO 8601, or an age: 7d, 24h)."
)
@click.option("--until", type=Moment(), default=None, help="Up to this time (default: now).")
@click.option("--clickhouse-url", envvar="OTEL_LLMCOST_CLICKHOUSE_URL", help=URL_HELP)
def reprice(since: datetime, until: datetime | None, clickhouse_url: str | None) -> None:
    """Reload prices from the catalog (and OTEL_LLMCOST_PRICING_FILE) and recompute the cost of
    calls the store priced or could not price. Costs the instrumented program computed stay."""
    from otel_llmcost.store.prices import load_pricing
    from otel_llmcost.store.reprice import reprice as reprice_calls

    if until is not None and until <= since:
        raise click.BadParameter(f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})")
    console = make_console(stderr=True)
    with _store_errors(), _progress(console) as progress:
        client = open_store(clickhouse_url, progress=_spool_progress(progress))
        try:
            step = progress.add_task("loading prices", total=None)
            rows = load_pricing(client)
            progress.update(step, description=f"loaded {rows} price rows")
            changed = reprice_calls(
                client, since, until, progress=lambda message: progress.update(step, description=message)
            )
        finally:
            client.close()
    window = f"{since.isoformat()} .. {until.isoformat() if until else 'now'}"
    click.echo(f"Repriced {changed} call(s) between {window}.")
