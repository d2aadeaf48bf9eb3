"""The ClickHouse store: connection (embedded chDB or a server), schema, OTLP ingestion, spool, exporters.

Modules, by concern: ``connection`` (URLs, ``connect``, ``open_store``), ``lock`` (one process per chDB
directory), ``schema`` (migrations) over ``traces`` / ``prices`` / ``llm_calls`` / ``rollups`` DDL,
``ingest`` (OTLP → ``otel_traces`` rows), ``spool`` and ``exporter`` (the instrumented program's side,
which imports no ClickHouse code), ``reprice``. Nothing is imported here, so importing the exporter
stays light.
"""
