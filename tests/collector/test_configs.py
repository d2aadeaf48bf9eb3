"""The user-facing configs in collector/ parse, wire up only components that exist, and match the store."""

from __future__ import annotations

from pathlib import Path

import yaml

from otel_llmcost.store.connection import DEFAULT_DATABASE
from otel_llmcost.store.ingest import TRACES_TABLE

FOLDER = Path(__file__).resolve().parents[2] / "collector"
# Component types of the otelcol-contrib distribution that the config uses (checked against the
# collector and collector-contrib sources: receiver/otlpreceiver, processor/memorylimiterprocessor,
# exporter/clickhouseexporter, extension/healthcheckextension, extension/storage/filestorage).
CONTRIB_COMPONENTS = {
    "receivers": {"otlp"},
    "processors": {"memory_limiter"},
    "exporters": {"clickhouse"},
    "extensions": {"health_check", "file_storage"},
}


def _load(name: str) -> dict:
    return yaml.safe_load((FOLDER / name).read_text())


def _kind(component_id: str) -> str:
    return component_id.split("/", 1)[0]  # "file_storage/queue" is a file_storage


def test_otelcol_config_uses_defined_contrib_components():
    config = _load("otelcol-contrib.yaml")
    service = config["service"]

    assert set(service["extensions"]) == set(config["extensions"])
    for pipeline in service["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            assert set(pipeline[section]) <= set(config[section])
    for section, kinds in CONTRIB_COMPONENTS.items():
        assert {_kind(component) for component in config[section]} <= kinds
    queue = config["exporters"]["clickhouse"]["sending_queue"]
    assert queue["storage"] in config["extensions"]


def test_otelcol_writes_the_store_tables_without_creating_them():
    exporter = _load("otelcol-contrib.yaml")["exporters"]["clickhouse"]

    assert (exporter["database"], exporter["traces_table_name"]) == (DEFAULT_DATABASE, TRACES_TABLE)
    assert exporter["create_schema"] is False
    assert exporter["retry_on_failure"]["max_elapsed_time"] == 0  # retries never give up on a batch


def test_compose_mounts_files_that_exist():
    compose = _load("compose.yaml")

    assert set(compose["services"]) == {"clickhouse", "schema", "otelcol", "grafana"}
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (FOLDER / source).exists(), source
    assert compose["services"]["otelcol"]["depends_on"]["schema"]["condition"] == "service_completed_successfully"


def test_grafana_provisioning_points_at_the_store_database():
    datasource = _load("grafana/datasources.yaml")["datasources"][0]

    assert datasource["type"] == "grafana-clickhouse-datasource"
    assert datasource["jsonData"]["defaultDatabase"] == DEFAULT_DATABASE
    assert _load("grafana/dashboards.yaml")["providers"][0]["options"]["path"].startswith("/var/lib/grafana/dashboards")


def test_grafana_datasource_is_the_one_the_alert_rules_and_dashboards_query():
    source = _load("grafana/datasources.yaml")["datasources"][0]
    rules = yaml.safe_load((FOLDER.parent / "dashboards" / "alerts" / "llmcost-alerts.yaml").read_text())
    queried = {query["datasourceUid"] for group in rules["groups"] for rule in group["rules"] for query in rule["data"]}
    assert queried - {"__expr__"} == {source["uid"]}
    assert (source["type"], source["jsonData"]["defaultDatabase"]) == ("grafana-clickhouse-datasource", DEFAULT_DATABASE)
