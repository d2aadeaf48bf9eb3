"""The alert thresholds file: team budgets, model tiers and each rule's settings.

One file (``dashboards/thresholds.yaml`` in the repository) feeds both the Grafana generator
(alert provisioning, the budget table, the model-tier panel) and ``otel-llmcost alerts check``,
so a threshold changed there changes both. Every key is optional: defaults are below.
Mistakes are reported with the key's path and what would be accepted.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from otel_llmcost import semconv as sc
from otel_llmcost.reporting.timerange import TimeSpecError, parse_duration

SEVERITIES = ("info", "warning", "critical")
DEFAULT_FILE = Path("dashboards") / "thresholds.yaml"


class ConfigError(ValueError):
    """The thresholds file has a mistake; the message names the key and the fix."""


@dataclass(frozen=True)
class Setting:
    default: Any
    kind: str  # "number" | "duration" | "severity" | "bool"
    help: str


# rule name -> its settings. Every rule also takes `enabled` and `severity`.
RULE_SETTINGS: dict[str, dict[str, Setting]] = {
    "daily_spend_spike": {
        "factor": Setting(
            2.0, "number", "fires when a team's last-24h spend exceeds factor x its trailing 7-day daily average"
        ),
        "min_spend_usd": Setting(5.0, "number", "ignore teams that spent less than this in the last 24h"),
        "min_baseline_usd": Setting(
            1.0, "number", "floor of the daily average, so new spend with no history still compares"
        ),
    },
    "expensive_request": {
        "max_cost_usd": Setting(1.0, "number", "fires when a single call costs more than this"),
        "window": Setting("15m", "duration", "how far back each evaluation looks"),
    },
    "team_budget": {
        "ratio": Setting(0.8, "number", "fires when a team's month-to-date spend exceeds ratio x its monthly budget"),
    },
    "feature_tokens_spike": {
        "factor": Setting(
            5.0, "number", "fires when a feature's tokens per request exceed factor x its 7-day baseline"
        ),
        "window": Setting("1h", "duration", "the recent window compared with the 7 days before it"),
        "min_calls": Setting(10, "number", "ignore features with fewer calls than this in the window"),
    },
    "retry_storm": {
        "max_retries": Setting(
            20, "number", "fires when a feature resends the same prompt more often than this in the window"
        ),
        "window": Setting("15m", "duration", "how far back each evaluation looks"),
    },
    "runaway_agent": {
        "max_steps": Setting(25, "number", "a trace is runaway when one agent makes more LLM calls than this"),
        "max_cost_usd": Setting(5.0, "number", "... or when one agent's calls in a trace cost more than this"),
        "window": Setting("1h", "duration", "how far back each evaluation looks"),
    },
    "unpriced_spend": {
        "max_calls": Setting(0, "number", "fires when more calls than this went to models without a price"),
        "window": Setting("1h", "duration", "how far back each evaluation looks"),
    },
}
DEFAULT_SEVERITY = {
    "daily_spend_spike": "warning",
    "expensive_request": "warning",
    "team_budget": "warning",
    "feature_tokens_spike": "warning",
    "retry_storm": "critical",
    "runaway_agent": "critical",
    "unpriced_spend": "info",
}
# Ordered: the first pattern (RE2, matched against the model name) that matches names the tier.
DEFAULT_MODEL_TIERS = (
    ("small", r"(?i)(mini|nano|haiku|flash|lite|small)"),
    ("frontier", r"(?i)(opus|-pro\b|^o[13]\b|^gpt-[56](\.\d+)?$|ultra)"),
)
OTHER_TIER = "standard"


@dataclass(frozen=True)
class GrafanaSettings:
    datasource_uid: str = "clickhouse"
    folder: str = "LLM cost"
    group: str = "otel-llmcost"
    interval: str = "5m"


@dataclass(frozen=True)
class Config:
    database: str = "otel"
    owner: str = "platform"
    runbook_base_url: str = "https://github.com/otel-llmcost/otel-llmcost/blob/main/dashboards/runbooks"
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)
    budgets: dict[str, float] = field(default_factory=dict)
    model_tiers: tuple[tuple[str, str], ...] = DEFAULT_MODEL_TIERS
    rules: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {name: _rule_defaults(name) for name in RULE_SETTINGS}
    )
    source: str = "built-in defaults"

    def rule(self, name: str) -> dict[str, Any]:
        return self.rules[name]


def _rule_defaults(name: str) -> dict[str, Any]:
    values = {
        key: _coerce(setting.kind, setting.default, f"rules.{name}.{key}")
        for key, setting in RULE_SETTINGS[name].items()
    }
    return {"enabled": True, "severity": DEFAULT_SEVERITY[name], **values}


def default_path() -> Path | None:
    """The thresholds file to use when none is named: $OTEL_LLMCOST_THRESHOLDS_FILE, else
    ./dashboards/thresholds.yaml if it exists, else none (built-in defaults)."""
    configured = os.environ.get(sc.ENV_THRESHOLDS_FILE, "").strip()
    if configured:
        return Path(configured).expanduser()
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def load(path: str | Path | None) -> Config:
    """The thresholds file at ``path`` (None: built-in defaults), validated."""
    if path is None:
        return Config()
    path = Path(path)
    try:
        import yaml
    except ImportError:
        raise ConfigError("Reading the thresholds file needs PyYAML: pip install 'otel-llmcost[cli]'") from None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the thresholds file {path}: {exc.strerror or exc}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The thresholds file {path} is not valid YAML: {exc}") from None
    return parse(document or {}, source=str(path))


def parse(document: Any, source: str = "<thresholds>") -> Config:
    where = f"in {source}"
    if not isinstance(document, dict):
        raise ConfigError(f"The thresholds file must be a mapping of settings {where}, not {type(document).__name__}.")
    _reject_unknown(
        document, ("database", "owner", "runbook_base_url", "grafana", "budgets", "model_tiers", "rules"), "", where
    )
    defaults = Config()
    grafana = _grafana(document.get("grafana") or {}, where)
    return Config(
        database=_identifier(document.get("database", defaults.database), "database", where),
        owner=str(document.get("owner", defaults.owner)),
        runbook_base_url=str(document.get("runbook_base_url", defaults.runbook_base_url)).rstrip("/"),
        grafana=grafana,
        budgets=_budgets(document.get("budgets") or {}, where),
        model_tiers=_tiers(document.get("model_tiers"), where),
        rules=_rules(document.get("rules") or {}, where),
        source=source,
    )


def _grafana(raw: Any, where: str) -> GrafanaSettings:
    if not isinstance(raw, dict):
        raise ConfigError(f"'grafana' must be a mapping {where}.")
    _reject_unknown(raw, ("datasource_uid", "folder", "group", "interval"), "grafana.", where)
    settings = GrafanaSettings(**{key: str(value) for key, value in raw.items()})
    _duration(settings.interval, "grafana.interval", where)
    return settings


def _budgets(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise ConfigError(f"'budgets' must map team names to monthly USD amounts {where}, like 'search: 3000'.")
    budgets = {}
    for team, amount in raw.items():
        value = _number(amount, f"budgets.{team}", where)
        if value <= 0:
            raise ConfigError(f"budgets.{team} must be a positive monthly amount in USD {where}, got {amount!r}.")
        budgets[str(team)] = value
    return budgets


def _tiers(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return DEFAULT_MODEL_TIERS
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            f"'model_tiers' must map tier names to model-name patterns {where}, like 'small: mini|haiku'."
        )
    tiers = []
    for tier, pattern in raw.items():
        try:
            re.compile(str(pattern).replace("(?i)", ""), re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"model_tiers.{tier} is not a valid pattern {where}: {exc}.") from None
        tiers.append((str(tier), str(pattern)))
    return tuple(tiers)


def _rules(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"'rules' must map rule names to their settings {where}.")
    _reject_unknown(raw, tuple(RULE_SETTINGS), "rules.", where)
    rules = {}
    for name, settings in RULE_SETTINGS.items():
        given = raw.get(name) or {}
        if not isinstance(given, dict):
            raise ConfigError(f"rules.{name} must be a mapping of settings {where}.")
        _reject_unknown(given, ("enabled", "severity", *settings), f"rules.{name}.", where)
        values = _rule_defaults(name)
        for key, value in given.items():
            path = f"rules.{name}.{key}"
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(f"{path} must be true or false {where}, got {value!r}.")
                values[key] = value
            elif key == "severity":
                if value not in SEVERITIES:
                    raise ConfigError(f"{path} must be one of {', '.join(SEVERITIES)} {where}, got {value!r}.")
                values[key] = value
            else:
                values[key] = _coerce(settings[key].kind, value, path, where)
        rules[name] = values
    return rules


def _coerce(kind: str, value: Any, path: str, where: str = "") -> Any:
    if kind == "duration":
        return _duration(value, path, where)
    number = _number(value, path, where)
    if number < 0:
        raise ConfigError(f"{path} must not be negative {where}, got {value!r}.")
    return number


def _duration(value: Any, path: str, where: str) -> timedelta:
    try:
        return parse_duration(value, path)
    except TimeSpecError as exc:
        raise ConfigError(f"{exc} ({path} {where})") from None


def _number(value: Any, path: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path} must be a number {where}, got {value!r}.")
    return float(value)


def _identifier(value: Any, path: str, where: str) -> str:
    text = str(value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise ConfigError(
            f"{path} must be a plain ClickHouse database name (letters, digits, _) {where}, got {value!r}."
        )
    return text


def _reject_unknown(mapping: dict, known: tuple[str, ...], prefix: str, where: str) -> None:
    for key in mapping:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else f" Known keys: {', '.join(known)}."
            raise ConfigError(f"Unknown setting '{prefix}{key}' {where}.{hint}")
