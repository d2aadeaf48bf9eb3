"""Where the store is and how to open it: an embedded chDB directory or a ClickHouse server.

Both go through ``clickhouse_connect.get_client``, so everything above this module speaks
one client API. URLs:

- ``chdb:///absolute/path`` — the embedded store (default: ``$OTEL_LLMCOST_DATA_DIR/chdb``);
- ``http(s)://user:password@host:port/database`` — a ClickHouse server (database default ``otel``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from otel_llmcost import semconv as sc
from otel_llmcost.store import lock
from otel_llmcost.store.ddl import is_identifier
from otel_llmcost.store.errors import INSTALL_HINT, StoreDependencyMissing, StoreError, StoreURLError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

logger = logging.getLogger("otel_llmcost.store")

DEFAULT_DATABASE = "otel"
ACCEPTED_FORMS = (
    "chdb:///absolute/path/to/dir (embedded store) or http(s)://user:password@host:8123/database (ClickHouse server)"
)
_DEFAULT_PORTS = {"http": 8123, "https": 8443}
_NATIVE_SCHEMES = ("clickhouse", "tcp")  # the native protocol's URLs (clickhouse-driver, the Go client)


def data_dir() -> Path:
    """The directory of the embedded store, its spool and its lock."""
    configured = os.environ.get(sc.ENV_DATA_DIR, "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get(sc.ENV_XDG_DATA_HOME, "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "otel-llmcost"


def resolve_url(url: str | None = None) -> str:
    """The store URL: the argument, else OTEL_LLMCOST_CLICKHOUSE_URL, else the embedded store."""
    for candidate in (url, os.environ.get(sc.ENV_CLICKHOUSE_URL)):
        if candidate and candidate.strip():
            return candidate.strip()
    return f"chdb://{(data_dir() / 'chdb').absolute()}"


@dataclass(frozen=True)
class StoreURL:
    scheme: str  # chdb | http | https
    path: Path | None = None  # chdb data directory
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    database: str | None = None  # from the URL path, if it names one

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    @property
    def lock_file(self) -> Path:
        assert self.path is not None
        return self.path.parent / "store.lock"

    def describe(self) -> str:
        """The URL without its password, for messages and logs."""
        if self.embedded:
            return f"chdb://{self.path}"
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}/{self.database or ''}"


def redact(url: str) -> str:
    """``url`` with its password masked, for messages about a URL that may not even parse
    (``StoreURL.describe`` needs a parsed one)."""
    scheme, separator, rest = url.partition("://")
    end = min((index for index in (rest.find(mark) for mark in "/?#") if index >= 0), default=len(rest))
    userinfo, at, host = rest[:end].rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{rest[end:]}"


def parse_url(url: str) -> StoreURL:
    """A store URL, checked; StoreURLError names what is wrong and the accepted forms, never the password."""
    shown = repr(redact(url))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise StoreURLError(f"Cannot read the ClickHouse URL {shown} ({exc}). Use {ACCEPTED_FORMS}.") from None
    scheme = parts.scheme.lower()
    if scheme == "chdb":
        if parts.netloc or not parts.path.startswith("/"):
            raise StoreURLError(
                f"The chDB URL {shown} needs an absolute path after three slashes, like chdb:///home/me/otel-llmcost/chdb."
            )
        return StoreURL("chdb", path=Path(unquote(parts.path)))
    if scheme in _DEFAULT_PORTS:
        if not parts.hostname:
            raise StoreURLError(f"The ClickHouse URL {shown} has no host name. Use {ACCEPTED_FORMS}.")
        segments = [unquote(segment) for segment in parts.path.split("/") if segment]
        if len(segments) > 1:
            raise StoreURLError(
                f"The ClickHouse URL {shown} has the path {parts.path!r}; only a database name may follow the host."
            )
        if segments and not is_identifier(segments[0]):
            raise StoreURLError(
                f"The database {segments[0]!r} in {shown} is not a plain ClickHouse identifier "
                "(letters, digits, underscore)."
            )
        return StoreURL(
            scheme,
            host=parts.hostname,
            port=port or _DEFAULT_PORTS[scheme],
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=segments[0] if segments else None,
        )
    if scheme in _NATIVE_SCHEMES:
        raise StoreURLError(
            f"Unsupported ClickHouse URL scheme {parts.scheme!r} in {shown}: clickhouse-connect speaks ClickHouse's "
            f"HTTP interface (port 8123, 8443 with TLS), not the native protocol (port 9000). "
            f"Use http://{parts.hostname or 'host'}:8123{parts.path.rstrip('/')} "
            "(with user:password@ before the host if the server needs them)."
        )
    raise StoreURLError(
        f"Unsupported ClickHouse URL scheme {parts.scheme or '(none)'!r} in {shown}. Use {ACCEPTED_FORMS}."
    )


def _clickhouse_connect() -> Any:
    try:
        import clickhouse_connect
    except ImportError as exc:
        raise StoreDependencyMissing(
            f"The store needs clickhouse-connect, which is not installed ({exc}). Install it: {INSTALL_HINT}"
        ) from None
    return clickhouse_connect


def connect(url: str | None = None, *, database: str = DEFAULT_DATABASE, timeout: float | None = None) -> Client:
    """A clickhouse-connect client for the store.

    The embedded store takes the store lock first (StoreBusy if another process has it) and
    releases it when the client is closed. The client's default database is the store's
    database once it exists, so queries may name tables without it. ``timeout`` (seconds)
    bounds connecting to and talking with a server (rounded up to whole seconds).
    """
    target = parse_url(resolve_url(url))
    database = target.database or database
    clickhouse_connect = _clickhouse_connect()
    if target.embedded:
        client = _connect_embedded(clickhouse_connect, target)
    else:
        # clickhouse-connect takes whole seconds (and refuses 0)
        seconds = None if timeout is None else max(math.ceil(timeout), 1)
        timeouts = {} if seconds is None else {"connect_timeout": seconds, "send_receive_timeout": seconds}
        try:
            client = clickhouse_connect.get_client(
                host=target.host,
                port=target.port,
                username=target.username or "default",
                password=target.password,
                secure=target.scheme == "https",
                **timeouts,
            )
        except Exception as exc:
            raise StoreError(f"Cannot connect to ClickHouse at {target.describe()}: {exc}") from exc
    client.otel_llmcost_database = database  # read by schema, ingest and the readers
    if database_exists(client, database):
        client.database = database
    return client


def _connect_embedded(clickhouse_connect: Any, target: StoreURL) -> Client:
    try:
        import chdb  # noqa: F401  (only to turn a missing engine into the install hint)
    except ImportError as exc:
        raise StoreDependencyMissing(
            f"The embedded store needs chDB, which is not installed ({exc}). Install it: {INSTALL_HINT}, "
            "or set OTEL_LLMCOST_CLICKHOUSE_URL to a ClickHouse server."
        ) from None
    assert target.path is not None
    lock.acquire(target.lock_file)
    try:
        target.path.mkdir(parents=True, exist_ok=True)
        client = clickhouse_connect.get_client(dsn=f"chdb://{target.path}")
    except Exception as exc:
        lock.release(target.lock_file)
        raise StoreError(
            f"Cannot open the embedded store at {target.path}: {exc}. chDB opens one data directory per process; "
            "close other stores opened in this process first."
        ) from exc
    _release_lock_on_close(client, target.lock_file)
    return client


def _release_lock_on_close(client: Client, lock_file: Path) -> None:
    close = client.close

    def close_and_unlock() -> None:
        try:
            close()
        finally:
            lock.release(lock_file)

    client.close = close_and_unlock  # type: ignore[method-assign]


def database_exists(client: Client, database: str) -> bool:
    return bool(
        client.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}", parameters={"db": database}
        ).result_rows[0][0]
    )


def store_database(client: Client) -> str:
    """The database the store's tables live in for this client."""
    return getattr(client, "otel_llmcost_database", DEFAULT_DATABASE)


def open_store(
    url: str | None = None,
    *,
    database: str = DEFAULT_DATABASE,
    progress: Callable[[int, int], None] | None = None,
    timeout: float | None = None,
    drain_spool: bool = True,
) -> Client:
    """The store ready to read: connected, schema applied if missing, its spool ingested.

    Every data-reading command opens the store through this, so a report run right after an
    instrumented program sees its calls; calls of models the store could not price at
    ingestion but the catalog resolves get priced here. ``progress(done, total)`` is called
    per spool file.
    """
    from otel_llmcost.store import reprice, schema, spool

    client = connect(url, database=database, timeout=timeout)
    try:
        schema.apply_schema(client, database=store_database(client))
    except BaseException:
        client.close()
        raise
    if drain_spool:
        try:
            spool.drain(client, spool.dir_for(parse_url(resolve_url(url))), progress=progress)
            reprice.price_new_models(client)
        except Exception as exc:  # noqa: BLE001 (reading must go on: the spool stays for the next command)
            logger.warning("Could not ingest the spool or price new models (%s); the data read may miss them", exc)
    return client
