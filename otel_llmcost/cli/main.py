"""The ``otel-llmcost`` command: a click group whose commands live one family per module.

Commands are imported only when invoked, so ``otel-llmcost --help`` stays fast and a
command's heavy dependencies (chDB, grpc) load only for the commands that need them.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" of a click.Command or click.Group
COMMANDS = {
    "demo": ("otel_llmcost.cli.demo:demo", "Run the whole product on a fake LLM server: traffic, a spike, alerts, a report."),
    "report": ("otel_llmcost.cli.report:report", "Spend by model, team, feature and prompt for a time range."),
    "alerts": ("otel_llmcost.cli.alerts:alerts", "Evaluate the alert rules against ClickHouse."),
    "pricing": ("otel_llmcost.cli.pricing:pricing", "Look up prices and estimate a prompt's cost."),
    "schema": ("otel_llmcost.cli.schema:schema", "Create or upgrade the ClickHouse tables."),
    "reprice": ("otel_llmcost.cli.schema:reprice", "Recompute stored costs after a price change."),
    "dashboards": ("otel_llmcost.cli.dashboards:dashboards", "Export the Grafana dashboards and alert rules."),
    "collector": ("otel_llmcost.cli.collector:collector", "Run the OTLP collector that writes to ClickHouse."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, help_text = COMMANDS[name]
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            return _unavailable(name, help_text, exc)
        return getattr(module, attribute)


def _unavailable(name: str, help_text: str, exc: ImportError) -> click.Command:
    """A stand-in command that explains which extra to install instead of a traceback."""

    @click.command(name=name, help=help_text, context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        raise click.ClickException(
            f"'otel-llmcost {name}' needs a dependency that is not installed ({exc.name or exc}). "
            "Install the full package: pip install 'otel-llmcost[all]'"
        )

    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="otel-llmcost")
def cli() -> None:
    """otel-llmcost: LLM spend you can see, attribute and alert on.

    Start with `otel-llmcost demo`. Data commands read OTEL_LLMCOST_CLICKHOUSE_URL
    (or --clickhouse-url); by default they use the embedded store.
    """


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
