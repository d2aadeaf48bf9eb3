"""Where DDL goes: one database on one server, or one ClickHouse cluster.

On a single server (and in chDB) every table is a plain ``*MergeTree`` under its own name.
On a cluster (``cluster="name"``) each data table becomes ``<name>_local`` with a
``Replicated*`` engine on every node (``ON CLUSTER``), and ``<name>`` is a ``Distributed``
table over it, so writers and readers keep using the plain names while the materialized
views run shard-locally on the ``_local`` tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPLICA = "'{replica}'"  # the server's macro, expanded on each node
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_identifier(value: str) -> bool:
    return _IDENTIFIER.match(value) is not None


def check_identifier(value: str, what: str) -> str:
    if not is_identifier(value):
        raise ValueError(f"The {what} {value!r} is not a plain ClickHouse identifier (letters, digits, underscore).")
    return value


@dataclass(frozen=True)
class Target:
    database: str = "otel"
    cluster: str | None = None
    ttl_days: int | None = None

    def __post_init__(self) -> None:
        check_identifier(self.database, "database name")
        if self.cluster is not None:
            check_identifier(self.cluster, "cluster name")
        if self.ttl_days is not None and self.ttl_days <= 0:
            raise ValueError(f"ttl_days must be a positive number of days, got {self.ttl_days}")

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER {self.cluster}" if self.cluster else ""

    def name(self, table: str) -> str:
        """The name readers and writers use: the table itself, or the Distributed table on a cluster."""
        return f"{self.database}.{table}"

    def local(self, table: str) -> str:
        """The table that holds the rows (and that materialized views read and write)."""
        return f"{self.database}.{table}_local" if self.cluster else f"{self.database}.{table}"

    def engine(self, kind: str, table: str, *args: str, sharded: bool = True) -> str:
        """``MergeTree()``-family engine ``kind`` (e.g. ``AggregatingMergeTree``), replicated on a cluster.

        ``sharded=False`` replicates the table to every node of the cluster instead of one shard.
        """
        if not self.cluster:
            return f"{kind}({', '.join(args)})"
        # A sharded table is the _local one under a Distributed table; an unsharded one keeps its name.
        path = (
            f"'/clickhouse/tables/{{shard}}/{self.database}/{table}_local'"
            if sharded
            else f"'/clickhouse/tables/{self.database}/{table}'"
        )
        return f"Replicated{kind}({', '.join((path, _REPLICA, *args))})"

    def distributed(self, table: str, sharding_key: str = "rand()") -> list[str]:
        """On a cluster, the Distributed table ``table`` over ``table_local``; nothing on one server."""
        if not self.cluster:
            return []
        return [
            (
                f"CREATE TABLE IF NOT EXISTS {self.name(table)}{self.on_cluster} AS {self.local(table)}\n"
                f"ENGINE = Distributed({self.cluster}, {self.database}, {table}_local, {sharding_key})"
            )
        ]

    def ttl(self, time_expression: str) -> str:
        return f"TTL {time_expression} + toIntervalDay({self.ttl_days})" if self.ttl_days else ""
