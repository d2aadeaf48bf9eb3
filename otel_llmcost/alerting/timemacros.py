"""The time macros of the Grafana ClickHouse datasource, for running alert SQL outside Grafana.

Alert rules use only ``$__fromTime``, ``$__toTime`` and ``$__timeFilter(column)``; this expands
them the way the datasource's backend does (``toDateTime(<unix seconds>)``, the range
inclusive at both ends), so ``alerts check`` runs the very SQL Grafana runs. Anything else
that looks like a Grafana macro or variable is an error, not silently sent to ClickHouse.
"""

from __future__ import annotations

import re
from datetime import datetime

_TIME_FILTER = re.compile(r"\$__timeFilter\b\(\s*([^(),]+?)\s*\)")
_FROM = re.compile(r"\$__fromTime\b(?!\()")
_TO = re.compile(r"\$__toTime\b(?!\()")
_LEFTOVER = re.compile(r"\$(?:__\w+|\{\w+|\w+)")


class MacroError(ValueError):
    """The SQL uses a Grafana macro or variable that alert evaluation cannot expand."""


def expand(sql: str, time_from: datetime, time_to: datetime) -> str:
    start = f"toDateTime({int(time_from.timestamp())})"
    end = f"toDateTime({int(time_to.timestamp())})"
    sql = _TIME_FILTER.sub(lambda m: f"{m.group(1)} >= {start} AND {m.group(1)} <= {end}", sql)
    sql = _FROM.sub(start, sql)
    sql = _TO.sub(end, sql)
    leftover = _LEFTOVER.search(sql)
    if leftover:
        raise MacroError(f"Alert SQL uses {leftover.group(0)!r}, which only Grafana dashboards can expand.")
    return sql
