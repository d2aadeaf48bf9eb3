"""``otel-llmcost demo``: the whole product on one machine, with no API key and no server.

1. a local fake LLM server speaking the OpenAI and Anthropic HTTP APIs (SSE included);
2. the demo app (otel_llmcost.demo.app) with the real SDK clients, instrumented, plays a day of
   traffic in about a minute; in the last hour one prompt causes a spend spike;
3. its spans go through the embedded store's spool into chDB, exactly as an instrumented
   program's would (the demo's own data directory, so it never mixes with real data);
4. the alert rules run against the store, as `otel-llmcost alerts check` runs them, and the
   prompt fingerprint, feature, model and traces behind the spike are printed;
5. an HTML report is written, and the commands to explore further are printed.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from otel_llmcost import semconv as sc
from otel_llmcost.cli.console import make_console

MARKER = ".otel-llmcost-demo"  # a directory holding this file is the demo's and may be wiped
SERVICE = "acme-support"
SPIKE_WINDOW = timedelta(hours=1)


def _default_dir() -> Path:
    from otel_llmcost.store.connection import data_dir

    return data_dir() / "demo"


@click.command()
@click.option(
    "--calls",
    default=1200,
    show_default=True,
    type=click.IntRange(20, 200_000),
    help="App requests over the simulated day (each makes one to a few LLM calls; 1200 take about a minute).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The demo's own data directory (embedded store, spool, report). "
    "Default: <OTEL_LLMCOST_DATA_DIR or ~/.local/share/otel-llmcost>/demo. Earlier demo data there is replaced.",
)
@click.option("--no-spike", is_flag=True, help="Play the same day without the injected incidents (the quiet baseline).")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the HTML report (default: report.html in the data directory).",
)
@click.option(
    "--clickhouse-url",
    help="Write to this ClickHouse server instead (http(s)://user:password@host:8123/database), e.g. to see "
    "the demo in Grafana. The demo's calls are added there (service acme-support, environment demo), not replaced.",
)
def demo(calls: int, data_dir: Path | None, no_spike: bool, html_file: Path | None, clickhouse_url: str | None) -> None:
    """Run the whole product on a fake LLM server: a day of traffic, a spike, alerts, a report.

    Needs no API key, no network and no ClickHouse server (the embedded store is the default;
    OTEL_LLMCOST_CLICKHOUSE_URL is ignored, --clickhouse-url is not). Exit status 0 when the demo
    ran, whatever the alerts found (`otel-llmcost alerts check` exits 1 when a rule fires).
    """
    console = make_console()
    demo_dir = (data_dir or _default_dir()).expanduser().absolute()
    server = _server_url(clickhouse_url)
    _prepare(demo_dir, wipe_store=server is None)
    # The spool and the store of this process are the demo's: the same resolution an instrumented
    # program uses (OTEL_LLMCOST_DATA_DIR), so the printed follow-up commands see the same data.
    os.environ[sc.ENV_DATA_DIR] = str(demo_dir)
    url = server or f"chdb://{demo_dir / 'chdb'}"
    where = _describe(server) if server else str(demo_dir)
    console.print(f"[bold]otel-llmcost demo[/]: a day of ACME's LLM traffic, stored in {where}")

    if server:
        _open_store(console, server, drain_spool=False).close()  # fail before the traffic, not after
    started = time.monotonic()
    traffic = _play(console, calls, spike=not no_spike, server=server)
    console.print(
        f"Played {traffic.total:,} app requests ({_counts(traffic.requests)}) in {time.monotonic() - started:.0f} s; "
        f"{sum(traffic.failures.values())} ended in a scripted provider error."
    )

    client = _open_store(console, url)
    try:
        fired = _alerts(console, client, traffic.end)
        if not no_spike:
            _explain_spike(console, client, traffic.end)
        report_file = _report(client, traffic.start, traffic.end, html_file or demo_dir / "report.html")
    finally:
        client.close()
    _next_steps(console, demo_dir, report_file, fired, server, traffic.end)


def _server_url(url: str | None) -> str | None:
    """The server URL given with --clickhouse-url, checked; None for the embedded store."""
    if not url:
        return None
    from otel_llmcost.store.connection import parse_url
    from otel_llmcost.store.errors import StoreURLError

    try:
        target = parse_url(url)
    except StoreURLError as exc:
        raise click.BadParameter(str(exc), param_hint="--clickhouse-url") from None
    if target.scheme == "chdb":
        raise click.BadParameter(
            "the demo's embedded store is chosen with --data-dir; --clickhouse-url is for a ClickHouse server "
            "(http(s)://user:password@host:8123/database).",
            param_hint="--clickhouse-url",
        )
    return url


def _describe(url: str) -> str:
    from otel_llmcost.store.connection import parse_url

    return parse_url(url).describe()  # without the password


def _prepare(demo_dir: Path, *, wipe_store: bool = True) -> None:
    """Start from an empty demo directory; refuse to wipe one the demo did not create."""
    if demo_dir.exists() and any(demo_dir.iterdir()):
        if not (demo_dir / MARKER).is_file():
            raise click.UsageError(
                f"{demo_dir} is not empty and was not made by the demo; the demo replaces its data directory's "
                "contents. Pass --data-dir with a new or empty directory."
            )
        _wipe(demo_dir, ("chdb", "spool") if wipe_store else ("spool",))
    demo_dir.mkdir(parents=True, exist_ok=True)
    (demo_dir / MARKER).write_text("Data of `otel-llmcost demo`; the next demo run replaces it.\n")


def _wipe(demo_dir: Path, names: tuple[str, ...]) -> None:
    """Remove the demo's earlier data, holding the store's lock (a `report` may still read it)."""
    from otel_llmcost.store import lock
    from otel_llmcost.store.errors import StoreBusy

    lock_file = demo_dir / "store.lock"  # where connection.StoreURL puts the lock of <demo_dir>/chdb
    try:
        lock.acquire(lock_file)
    except StoreBusy as exc:
        raise click.ClickException(str(exc)) from None
    try:
        for name in names:
            path = demo_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    finally:
        lock.release(lock_file)


def _play(console: Console, calls: int, *, spike: bool, server: str | None):
    """The app under the instrumentation, against the fake server; spans spooled to disk."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import otel_llmcost
    from otel_llmcost.demo import FakeLLMServer, run_traffic
    from otel_llmcost.demo.clock import SimulatedClockProcessor
    from otel_llmcost.store.exporter import ClickHouseSpanExporter, SpoolSpanExporter

    resource = Resource.create({sc.SERVICE_NAME: SERVICE, sc.DEPLOYMENT_ENVIRONMENT_NAME: "demo"})
    provider = TracerProvider(resource=resource)
    # A queue big enough for the whole day: the demo must not drop spans to back-pressure.
    exporter = ClickHouseSpanExporter(server) if server else SpoolSpanExporter()
    batches = BatchSpanProcessor(exporter, max_queue_size=1_000_000, schedule_delay_millis=2000)
    provider.add_span_processor(SimulatedClockProcessor(batches))
    otel_llmcost.instrument(tracer_provider=provider)
    try:
        with FakeLLMServer() as fake, _progress(console) as progress:
            task = progress.add_task("Replaying a day of traffic", total=None)
            traffic = run_traffic(
                fake.base_url,
                calls=calls,
                spike=spike,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    finally:
        otel_llmcost.uninstrument()
        provider.force_flush()
        provider.shutdown()
    return traffic


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _open_store(console: Console, url: str, *, drain_spool: bool = True):
    from otel_llmcost.store.connection import open_store
    from otel_llmcost.store.errors import StoreError

    with _progress(console) as progress:
        task = progress.add_task("Storing spans in ClickHouse" if drain_spool else "Opening ClickHouse", total=None)
        try:
            return open_store(
                url,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                drain_spool=drain_spool,
            )
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None


def _alerts(console: Console, client, at: datetime) -> list[str]:
    """Every alert rule as of the end of the simulated day; the names of those that fired."""
    from otel_llmcost.alerting import config as alert_config
    from otel_llmcost.alerting.evaluate import evaluate
    from otel_llmcost.alerting.rules import build_rules
    from otel_llmcost.cli.alerts import print_first_steps, print_outcome
    from otel_llmcost.store.connection import store_database

    try:
        config = alert_config.load(alert_config.default_path())
    except alert_config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    console.rule("Alert rules, as `otel-llmcost alerts check` evaluates them")
    fired = []
    for rule in build_rules(config, store_database(client)):
        outcome = evaluate(client, rule, at)
        print_outcome(console, outcome)
        if outcome.fired:
            fired.append(rule.name)
            print_first_steps(console, client, outcome, at, config)
    return fired


def _explain_spike(console: Console, client, at: datetime) -> None:
    """The prompts whose last-hour spend rose most over their hourly average of the day before."""
    from otel_llmcost.reporting.queries import spend_movers

    movers = spend_movers(client, at - SPIKE_WINDOW, at, baseline_start=at - timedelta(days=1))
    console.rule("Behind the spike")
    if not movers:
        console.print("No prompt spent more in the last hour than its hourly average.")
        return
    table = Table(title="Prompts by spend rise, last hour vs the day's hourly average", title_justify="left")
    for column in ("prompt", "fingerprint", "team / feature", "model", "calls", "last hour", "hourly avg before"):
        numeric = column in ("calls", "last hour", "hourly avg before")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "fingerprint")
    for mover in movers[:5]:
        table.add_row(
            mover.prompt_name or "(unnamed)",
            mover.fingerprint,
            f"{mover.team} / {mover.feature}",
            mover.model,
            f"{mover.calls:,}",
            f"${mover.spend:,.2f}",
            f"${mover.baseline_hourly:,.2f}",
        )
    console.print(table)
    top = movers[0]
    console.print(
        f"[bold]The spike[/]: prompt [bold]{top.prompt_name or '(unnamed)'}[/] "
        f"(fingerprint [bold]{top.fingerprint}[/]), feature {top.feature}, team {top.team}, model {top.model}: "
        f"${top.spend:,.2f} in the last hour against ${top.baseline_hourly:,.2f} an hour before."
    )
    console.print("Its most expensive traces: " + ", ".join(top.trace_ids), soft_wrap=True)


def _report(client, start: datetime, end: datetime, path: Path) -> Path:
    from otel_llmcost.reporting import html, queries

    result = queries.build_report(client, start, end + timedelta(seconds=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html.render(result), encoding="utf-8")
    return path.absolute()


def _next_steps(
    console: Console, demo_dir: Path, report_file: Path, fired: list[str], server: str | None, end: datetime
) -> None:
    env = "OTEL_LLMCOST_CLICKHOUSE_URL=<the --clickhouse-url>" if server else f"OTEL_LLMCOST_DATA_DIR={demo_dir}"
    console.rule("Next")
    console.print(f"Fired: {', '.join(fired) if fired else 'nothing'}.")
    console.print(f"HTML report:   open file://{report_file}  (one self-contained page, any browser)")
    # The simulated day ended when the demo started: name that instant, so the same rules see the
    # same windows however much later these run.
    until = f"{end:%Y-%m-%dT%H:%M:%SZ}"
    day_start = f"{end - timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
    console.print(f"Spend tables:  {env} otel-llmcost report --since {day_start} --until {until}", soft_wrap=True)
    console.print(f"Alerts again:  {env} otel-llmcost alerts check --at {until}", soft_wrap=True)
    console.print(
        "Dashboards:    otel-llmcost dashboards export --out grafana/  then load grafana/ into Grafana with the "
        "ClickHouse data source (README: 'Dashboards and alerts in Grafana')",
        soft_wrap=True,
    )


def _counts(counter) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in counter.most_common())
