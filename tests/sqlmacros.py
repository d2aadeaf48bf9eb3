"""What the Grafana ClickHouse datasource does to a panel's SQL before ClickHouse sees it.

Written from the plugin's source (grafana/clickhouse-datasource; Apache-2.0), in the order
it runs:

1. Frontend, ``CHDatasource.applyConditionalAll``: from the last ``$__conditionalAll(`` to the
   first, split the arguments at depth-1 commas; with exactly two, the second names a
   variable; when its current value is ``$__all`` or empty the call becomes ``1=1``, else
   its first argument.
2. Frontend, ``templateSrv.replace`` with the datasource's format function: ``$var``,
   ``${var}``, ``${var:format}`` and ``[[var]]``. Multi-value (and All) values become
   ``'a','b'``; single values are inserted as they are. ``:singlequote`` quotes every value.
   Unknown names (``$__timeFilter`` and the other macros) are left alone.
3. Backend, sqlds ``interpolate`` with the plugin's macros (``pkg/macros/macros.go``): each
   ``$__name(args)`` (regex ``\\$__name\\b(?:\\((.*?)\\))?``, arguments split at commas) becomes
   ``toDateTime(unix)``-style SQL for the query's time range and interval.

Macro arguments that contain parentheses parse differently across sqlds versions, so they
are refused here: dashboards must not depend on either behaviour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

ALL = "$__all"


@dataclass
class Variable:
    """A dashboard variable's current value: a string, a list (multi-value) or ALL, and the
    values All stands for (the variable's options)."""

    current: str | list[str]
    options: list[str] = field(default_factory=list)


class MacroError(ValueError):
    pass


# --- 1. $__conditionalAll -------------------------------------------------------------------


def apply_conditional_all(sql: str, variables: dict[str, Variable]) -> str:
    macro = "$__conditionalAll("
    index = sql.rfind(macro)
    while index != -1:
        params = _macro_args(sql, index + len(macro) - 1)
        if len(params) != 2:
            return sql
        name = params[1].strip()[1:]
        variable = variables.get(name)
        phrase = params[0]
        value = _js_to_string(variable.current) if variable else ""
        if value in ("", ALL):
            phrase = "1=1"
        sql = sql.replace(f"{macro}{params[0]},{params[1]})", phrase, 1)
        index = sql.rfind(macro)
    return sql


def _macro_args(sql: str, args_index: int) -> list[str]:
    """The plugin's getMacroArgs: arguments of the call whose '(' is at ``args_index``."""
    args: list[str] = []
    depth = 0
    last_end = 1
    text = sql[args_index:]
    for match in re.finditer(r"\(|\)|,", text):
        token = match.group(0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "," and depth == 1:
            args.append(text[last_end : match.end() - 1])
            last_end = match.end()
        if depth == 0:
            args.append(text[last_end : match.end() - 1])
            return args
    return []


def _js_to_string(value: str | list[str]) -> str:
    # Array.prototype.toString joins with commas: ['$__all'] -> '$__all'
    return ",".join(value) if isinstance(value, list) else value


# --- 2. template variables ------------------------------------------------------------------

_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")


def replace_variables(sql: str, variables: dict[str, Variable]) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        value = variable.current
        if value == ALL or value == [ALL]:
            value = list(variable.options)
        return _format(value, fmt)

    return _VARIABLE.sub(substitute, sql)


def _format(value: str | list[str], fmt: str | None) -> str:
    if fmt == "singlequote":
        values = value if isinstance(value, list) else [value]
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "raw" or fmt is None:
        if isinstance(value, list):
            # the datasource's own format function for multi-value variables
            return "'" + "','".join(value) + "'" if fmt is None else ",".join(value)
        return value
    raise MacroError(f"variable format {fmt!r} is not emulated")


# --- 3. backend macros ----------------------------------------------------------------------


def _to_datetime(moment: datetime) -> str:
    return f"toDateTime({int(moment.timestamp())})"


def _to_datetime64(moment: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(moment.timestamp() * 1000)})"


def _to_date(moment: datetime) -> str:
    return f"toDate('{moment.strftime('%Y-%m-%d')}')"


def _one(args: list[str], name: str) -> str:
    if len(args) != 1:
        raise MacroError(f"$__{name} expects 1 argument, got {len(args)}")
    return args[0]


@dataclass
class Query:
    time_from: datetime
    time_to: datetime
    interval_s: float


def _macros(q: Query) -> dict:
    interval = max(int(q.interval_s), 1)
    return {
        "fromTime": lambda a: _to_datetime(q.time_from),
        "toTime": lambda a: _to_datetime(q.time_to),
        "fromTime_ms": lambda a: _to_datetime64(q.time_from),
        "toTime_ms": lambda a: _to_datetime64(q.time_to),
        "timeFilter": lambda a: (
            f"{_one(a, 'timeFilter')} >= {_to_datetime(q.time_from)} AND {a[0]} <= {_to_datetime(q.time_to)}"
        ),
        "timeFilter_ms": lambda a: (
            f"{_one(a, 'timeFilter_ms')} >= {_to_datetime64(q.time_from)} AND {a[0]} <= {_to_datetime64(q.time_to)}"
        ),
        "dateFilter": lambda a: (
            f"{_one(a, 'dateFilter')} >= {_to_date(q.time_from)} AND {a[0]} <= {_to_date(q.time_to)}"
        ),
        "timeInterval": lambda a: (
            f"toStartOfInterval(toDateTime({_one(a, 'timeInterval')}), INTERVAL {interval} second)"
        ),
        "interval_s": lambda a: str(interval),
    }


def apply_backend_macros(sql: str, query: Query) -> str:
    for name, function in _macros(query).items():
        pattern = re.compile(r"\$__" + name + r"\b(?:\((.*?)\))?")
        for match in list(pattern.finditer(sql)):
            raw_args = match.group(1)
            if raw_args is not None and "(" in raw_args:
                raise MacroError(f"$__{name}({raw_args}): nested parentheses in macro arguments are version-dependent")
            args = [arg.strip() for arg in raw_args.split(",")] if raw_args is not None else []
            sql = sql.replace(match.group(0), function(args))
    leftover = re.search(r"\$__\w+|\$\{\w+|\$\w+", sql)
    if leftover:
        raise MacroError(f"unexpanded {leftover.group(0)!r} in:\n{sql}")
    return sql


def expand(
    sql: str,
    *,
    time_from: datetime,
    time_to: datetime,
    interval_s: float = 60,
    variables: dict[str, Variable] | None = None,
) -> str:
    """The SQL ClickHouse receives for a panel query with this time range, interval and variables."""
    variables = variables or {}
    sql = apply_conditional_all(sql, variables)
    sql = replace_variables(sql, variables)
    return apply_backend_macros(sql, Query(time_from, time_to, interval_s))
