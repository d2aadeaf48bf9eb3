"""A process beside the test: ``write <tag> <batches> <spans>`` appends spool batches like an instrumented
program; ``drain <stop-file>`` holds the store and drains the spool until the stop file appears, then
once more. ``hold <ready-file>`` opens the store, touches the ready file and waits for stdin to close."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from store_helpers import payload

from otel_llmcost.store import spool


def write(tag: str, batches: int, spans: int) -> None:
    for batch in range(batches):
        spool.write_batch(
            payload([{"gen_ai.usage.input_tokens": 1, "case": f"{tag}-{batch}-{i}"} for i in range(spans)])
        )


def drain(stop_file: Path) -> None:
    from otel_llmcost.store.connection import open_store

    client = open_store(drain_spool=False)
    inserted = 0
    while not stop_file.exists():
        inserted += spool.drain(client)
        time.sleep(0.01)
    inserted += spool.drain(client)
    client.close()
    print(inserted)


def hold(ready_file: Path) -> None:
    from otel_llmcost.store.connection import connect

    client = connect()
    ready_file.touch()
    sys.stdin.read()
    client.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write":
        write(args[0], int(args[1]), int(args[2]))
    elif command == "drain":
        drain(Path(args[0]))
    else:
        hold(Path(args[0]))
