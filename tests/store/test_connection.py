"""Where the store is, how it is opened, and what the user is told when that fails."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from otel_llmcost import semconv as sc
from otel_llmcost.store.connection import connect, data_dir, parse_url, resolve_url
from otel_llmcost.store.errors import StoreBusy, StoreDependencyMissing, StoreURLError

WORKER = Path(__file__).with_name("spool_worker.py")


def test_the_url_comes_from_the_argument_then_the_environment_then_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(sc.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(sc.ENV_CLICKHOUSE_URL, raising=False)
    monkeypatch.setenv(sc.ENV_XDG_DATA_HOME, str(tmp_path / "xdg"))
    assert resolve_url() == f"chdb://{tmp_path / 'xdg' / 'otel-llmcost' / 'chdb'}"
    assert data_dir() == tmp_path / "xdg" / "otel-llmcost"

    monkeypatch.setenv(sc.ENV_DATA_DIR, str(tmp_path / "mine"))
    assert resolve_url() == f"chdb://{tmp_path / 'mine' / 'chdb'}"

    monkeypatch.setenv(sc.ENV_CLICKHOUSE_URL, "http://ch:8123/llm")
    assert resolve_url() == "http://ch:8123/llm"
    assert resolve_url(" chdb:///explicit ") == "chdb:///explicit"


def test_the_data_dir_defaults_to_the_users_local_share(monkeypatch):
    monkeypatch.delenv(sc.ENV_DATA_DIR, raising=False)
    monkeypatch.delenv(sc.ENV_XDG_DATA_HOME, raising=False)
    assert data_dir() == Path.home() / ".local" / "share" / "otel-llmcost"


def test_server_urls_are_parsed_with_credentials_and_database():
    url = parse_url("https://reader:p%40ss@ch.example.com/llm_costs")

    assert (url.host, url.port, url.username, url.password, url.database) == (
        "ch.example.com",
        8443,
        "reader",
        "p@ss",
        "llm_costs",
    )
    assert url.describe() == "https://reader@ch.example.com:8443/llm_costs"  # no password in messages
    assert parse_url("http://ch:9123").port == 9123 and parse_url("http://ch").database is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("chdb://relative/dir", "needs an absolute path after three slashes"),
        ("http:///otel", "has no host name"),
        ("http://ch:8123/otel/extra", "only a database name may follow the host"),
        ("http://ch:port", "Cannot read the ClickHouse URL"),
        ("clickhouse://ch:9000", "scheme 'clickhouse' .*speaks ClickHouse's HTTP interface"),
        ("ch.example.com:8123", "Unsupported ClickHouse URL scheme"),
    ],
)
def test_bad_urls_say_what_is_wrong(url, message):
    with pytest.raises(StoreURLError, match=message) as error:
        parse_url(url)
    if "Unsupported" in message or "no host" in message:
        assert "chdb:///absolute/path/to/dir" in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://reader:s3cret@ch:port/otel",
        "http://reader:s3cret@/otel",
        "http://reader:s3cret@ch:8123/otel/extra",
        "http://reader:s3cret@ch:8123/otel;%20DROP",
        "clickhouse://reader:s3cret@ch:9000",
        "tcp://reader:s3cret@ch:9000/otel",
    ],
    ids=["bad-port", "no-host", "extra-path", "bad-database", "native-scheme", "unknown-scheme"],
)
def test_bad_url_messages_never_show_the_password(url):
    with pytest.raises(StoreURLError) as error:
        parse_url(url)

    assert "s3cret" not in str(error.value)
    assert "reader:***@" in str(error.value)  # still recognisable: the user and the host are shown


def test_a_native_protocol_url_is_told_to_use_the_http_interface():
    with pytest.raises(StoreURLError, match=r"not the native protocol \(port 9000\)\. Use http://ch:8123/llm "):
        parse_url("clickhouse://reader:s3cret@ch:9000/llm")


def test_a_second_process_is_told_which_process_holds_the_store(data_dir, tmp_path):
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [sys.executable, str(WORKER), "hold", str(ready)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while not ready.exists():
            assert holder.poll() is None, holder.stderr.read()
            time.sleep(0.05)
        with pytest.raises(StoreBusy) as busy:
            connect()
    finally:
        holder.communicate("", timeout=60)

    message = str(busy.value)
    assert f"in use by process {holder.pid}" in message and "spool_worker.py hold" in message
    assert f"kill {holder.pid}" in message and "OTEL_LLMCOST_CLICKHOUSE_URL=http://" in message
    client = connect()  # released when the holder closed its client
    client.close()


def test_clients_of_one_process_share_the_lock_until_the_last_closes(data_dir):
    first = connect()
    second = connect()
    first.close()
    assert second.query("SELECT 1").result_rows == [(1,)]
    second.close()

    result = subprocess.run(
        [sys.executable, "-c", "from otel_llmcost.store.connection import connect; connect().close(); print('ok')"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_a_missing_client_library_names_the_extra_to_install(data_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "clickhouse_connect", None)

    with pytest.raises(StoreDependencyMissing, match=r"pip install 'otel-llmcost\[store\]'"):
        connect()


def test_a_missing_embedded_engine_names_the_extra_and_the_server_option(data_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "chdb", None)

    with pytest.raises(
        StoreDependencyMissing, match=r"needs chDB.*pip install 'otel-llmcost\[store\]'.*OTEL_LLMCOST_CLICKHOUSE_URL"
    ):
        connect()


def test_a_database_name_that_is_not_an_identifier_is_refused():
    with pytest.raises(StoreURLError, match="'otel; DROP' in .* is not a plain ClickHouse identifier"):
        parse_url("http://ch:8123/otel;%20DROP")
