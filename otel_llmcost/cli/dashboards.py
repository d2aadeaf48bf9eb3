"""``otel-llmcost dashboards export``: write the Grafana dashboards, alert rules and runbooks.

The generator is the repository's ``dashboards/generate.py`` (it needs grafana-foundation-sdk,
a development dependency), so this command runs from a source checkout.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

CHECKOUT = Path(__file__).resolve().parents[2]


def _generator():
    if (CHECKOUT / "dashboards" / "generate.py").is_file() and str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    try:
        return importlib.import_module("dashboards.generate")
    except ImportError as exc:
        raise click.ClickException(
            f"The dashboard generator is not available ({exc}). It lives in the otel-llmcost repository "
            "(dashboards/generate.py) and needs the dev extra: pip install -e '.[dev]'. "
            "The generated files are also in the repository: dashboards/json, dashboards/alerts, dashboards/runbooks."
        ) from None


@click.group()
def dashboards() -> None:
    """Export the Grafana dashboards and alert rules."""


@dashboards.command("export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("grafana"),
    show_default=True,
    help="Directory to write json/, alerts/ and runbooks/ into.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Thresholds file (default: the repository's dashboards/thresholds.yaml).",
)
def export(out_dir: Path, rules_file: Path | None) -> None:
    """Write dashboard JSON, alert provisioning YAML and runbooks."""
    generate = _generator()
    from otel_llmcost.alerting import config as alert_config

    try:
        config = alert_config.load(rules_file or generate.THRESHOLDS)
    except alert_config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for path in generate.write(out_dir, config):
        click.echo(path)
