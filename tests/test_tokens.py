import json
import logging
import os
import urllib.request
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public

from otel_llmcost import semconv as sc
from otel_llmcost.tokens import count_messages, count_text, count_tool, encoding_name_for, media_parts

SHARED_TIKTOKEN = Path(os.environ[sc.ENV_TIKTOKEN_CACHE_DIR])
TEXT = "The quick brown fox jumps over the lazy dog. Prices: $0.15 per 1M input tokens, 50% off in batch!"


@pytest.fixture
def no_network(monkeypatch):
    """Every way tiktoken (or anything) could fetch an encoding fails the test loudly."""

    def fail(*args, **kwargs):
        raise AssertionError(f"network/download attempted: {args!r}")

    monkeypatch.setattr(tiktoken.load, "read_file", fail)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", fail)
    monkeypatch.setattr(tiktoken_ext.openai_public, "load_tiktoken_bpe", fail)
    monkeypatch.setattr(urllib.request, "urlopen", fail)
    try:
        import requests
    except ImportError:
        return
    monkeypatch.setattr(requests, "get", fail)


@pytest.fixture(scope="module")
def linked_shared_files(tmp_path_factory):
    """A directory of links to the shared encoding files, new to this module's tests (so they load it)."""
    directory = tmp_path_factory.mktemp("tiktoken")
    for file in SHARED_TIKTOKEN.iterdir():
        (directory / file.name).symlink_to(file)
    return directory


@pytest.fixture
def local_dir(linked_shared_files, tmp_path, monkeypatch):
    """That directory named by OTEL_LLMCOST_TIKTOKEN_DIR, with TIKTOKEN_CACHE_DIR pointing elsewhere."""
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(linked_shared_files))
    monkeypatch.setenv(sc.ENV_TIKTOKEN_CACHE_DIR, str(tmp_path / "elsewhere"))  # must not be used
    return linked_shared_files


def test_counts_exactly_offline_from_the_local_directory(local_dir, no_network):
    assert count_text("hello world", "gpt-4o") == 2  # chars/4 would say 3
    assert count_text("hello world", "gpt-4") == 2


def test_the_directories_are_read_in_tiktokens_order(tmp_path, monkeypatch):
    from otel_llmcost.tokens import encoding_dir

    names = (sc.ENV_TIKTOKEN_DIR, sc.ENV_TIKTOKEN_CACHE_DIR, sc.ENV_DATA_GYM_CACHE_DIR)
    for name in names:
        monkeypatch.delenv(name, raising=False)
    for name in reversed(names):  # each one set wins over those after it
        monkeypatch.setenv(name, str(tmp_path / name))
        assert encoding_dir() == tmp_path / name


def test_counts_match_tiktoken_itself(local_dir, no_network, monkeypatch):
    ours = {model: count_text(TEXT, model) for model in ("gpt-4o-mini", "gpt-3.5-turbo", "text-embedding-3-small")}
    monkeypatch.undo()  # give tiktoken back its own loader and cache directory
    assert ours == {
        "gpt-4o-mini": len(tiktoken.get_encoding("o200k_base").encode_ordinary(TEXT)),
        "gpt-3.5-turbo": len(tiktoken.get_encoding("cl100k_base").encode_ordinary(TEXT)),
        "text-embedding-3-small": len(tiktoken.get_encoding("cl100k_base").encode_ordinary(TEXT)),
    }


def test_model_to_encoding():
    assert [encoding_name_for(m) for m in ("gpt-4o", "gpt-4.1-mini", "gpt-5", "o3", "openai/o4-mini")] == ["o200k_base"] * 5
    assert [encoding_name_for(m) for m in ("gpt-4", "gpt-3.5-turbo", "text-embedding-3-large")] == ["cl100k_base"] * 3
    assert encoding_name_for("claude-sonnet-4-5") == "cl100k_base"  # approximation, Claude's tokenizer is not public
    assert encoding_name_for("gpt-oss-120b") == "o200k_base"  # o200k_harmony: same ranks
    # a fine-tune counts as its base model (tiktoken's "ft:gpt-4" prefix would give gpt-4.1 ones cl100k)
    assert encoding_name_for("ft:gpt-4.1-mini-2025-04-14:acme::abc123") == "o200k_base"
    assert encoding_name_for("ft:gpt-3.5-turbo-0125:acme::abc123") == "cl100k_base"
    assert encoding_name_for("some-new-model") == "o200k_base"


def test_missing_files_fall_back_to_chars_over_4_with_one_warning(tmp_path, monkeypatch, no_network, caplog):
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(tmp_path / "empty"))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.tokens"):
        counts = [count_text("hello world", model) for model in ("gpt-4o", "gpt-4o-mini", "o3")]
    assert counts == [3, 3, 3]  # ceil(11 / 4)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "o200k_base" in warnings[0] and str(tmp_path / "empty") in warnings[0]
    assert sc.ENV_TIKTOKEN_DIR in warnings[0]


def test_a_corrupt_file_is_not_used_and_not_deleted(tmp_path, monkeypatch, no_network, caplog):
    directory = tmp_path / "tiktoken"
    directory.mkdir()
    cl100k = directory / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"  # sha1 of cl100k_base's download URL
    cl100k.write_bytes(b"aGVsbG8= 0\n")
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(directory))
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.tokens"):
        assert count_text("hello world", "gpt-4") == 3
    assert "sha256 mismatch" in caplog.records[0].getMessage()
    assert cl100k.exists()


def test_count_messages_adds_openai_chat_overhead(local_dir, no_network):
    messages = [
        {"role": "system", "content": "hello world"},
        {"role": "user", "content": "hello world", "name": "bob"},
    ]
    # 3 per message + "system" 1 + "hello world" 2; 3 + "user" 1 + 2 + "bob" 1 + 1 for the name;
    # 3 to prime the reply.
    assert count_messages(messages, "gpt-4") == (3 + 1 + 2) + (3 + 1 + 2 + 1 + 1) + 3 == 17


def test_count_messages_counts_text_parts_not_images(local_dir, no_network):
    parts = [
        {"type": "text", "text": "hello world"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    assert count_messages([{"role": "user", "content": parts}], "gpt-4o") == 3 + 1 + 2 + 3


def test_images_nested_in_tool_results_are_not_counted_as_text(local_dir, no_network):
    screenshot = "data:image/png;base64," + "iVBORw0KGgo" * 50_000  # a ~550 KB screenshot
    plain = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": []}]}
    with_image = {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}],
            }
        ],
    }
    # Anthropic: an image inside a tool result; the Responses API: a computer call's screenshot output
    assert count_messages([with_image], "gpt-4o") - count_messages([plain], "gpt-4o") < 10
    output = {"type": "computer_call_output", "call_id": "call_1", "output": {"type": "computer_screenshot"}}
    shot = {**output, "output": {"type": "computer_screenshot", "image_url": screenshot}}
    assert count_messages([shot], "gpt-4o") == count_messages([output], "gpt-4o") < 40


def test_an_earlier_turns_generated_image_carried_into_the_next_is_not_counted_as_text(local_dir, no_network):
    # The Responses API's pattern input=[..., *response.output, ...] carries an image_generation_call whose
    # result is the image, base64: a 300 KB image counted as about 270,000 tokens of text
    generated = {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": "iVBORw0KGgo" * 30_000}
    question = {"role": "user", "content": "Make the sky darker."}
    assert count_messages([question, generated], "gpt-5-mini") == count_messages([question, {}], "gpt-5-mini")
    assert media_parts([question, generated]) == 1 and media_parts([question]) == 0


def test_a_schema_type_list_in_a_tool_result_is_counted_as_text(local_dir, no_network):
    # "type": ["string", "null"] is no part type: looking it up among them raised TypeError, and the
    # call this prompt belonged to lost its whole estimate
    schema = {"type": ["string", "null"], "description": "the parcel's id"}
    counted = count_messages([{"role": "tool", "tool_call_id": "call_1", "content": schema}], "gpt-4o")
    text = count_messages([{"role": "tool", "tool_call_id": "call_1", "content": json.dumps(schema)}], "gpt-4o")
    assert counted == text > 10


def test_a_chat_custom_tool_counts_as_its_responses_twin(local_dir, no_network):
    # Chat Completions nests a custom tool under "custom" (the Responses API keeps it flat): its name,
    # description and grammar counted as 2 tokens (the type alone)
    custom = {
        "name": "sql",
        "description": "Run one read-only SQL query against the orders database.",
        "format": {"type": "grammar", "syntax": "lark", "definition": "start: SELECT_STMT\nSELECT_STMT: /SELECT .+/"},
    }
    chat = count_tool({"type": "custom", "custom": custom}, "gpt-5")
    assert chat == count_tool({"type": "custom", **custom}, "gpt-5")
    assert chat > count_text(custom["description"], "gpt-5")


@pytest.mark.parametrize("depth", [600, 5_000])
def test_a_value_nested_deeper_than_python_recurses_is_counted(local_dir, no_network, depth):
    # A tool's input echoed back hundreds of levels deep: counting it raised RecursionError, losing the
    # call's estimate (and `pricing estimate --messages` printed a traceback). Past what the JSON encoder
    # recurses into, its keys and texts are counted.
    nested: dict = {"text": "the parcel left the depot"}
    for _ in range(depth):
        nested = {"step": nested}
    message = {"role": "tool", "tool_call_id": "call_1", "content": nested}
    assert count_messages([message], "gpt-4o") >= depth + count_text("the parcel left the depot", "gpt-4o")


def test_a_media_part_typed_by_a_str_enum_is_not_counted_as_text(local_dir, no_network):
    import enum

    class Part(str, enum.Enum):
        TEXT = "text"
        INPUT_AUDIO = "input_audio"

    audio = {"type": Part.INPUT_AUDIO, "input_audio": {"data": "UklGR" * 8_000, "format": "wav"}}
    text = {"type": Part.TEXT, "text": "hello world"}
    with_audio = count_messages([{"role": "user", "content": [text, audio]}], "gpt-4o")
    assert with_audio == count_messages([{"role": "user", "content": [text]}], "gpt-4o")


def test_a_value_that_holds_itself_counts_as_nothing_rather_than_hanging(local_dir, no_network):
    result: dict = {"status": "ok"}
    result["self"] = result
    message = {"role": "tool", "tool_call_id": "call_1", "content": result}
    # its JSON could not be written either: it counts as an empty content
    assert count_messages([message], "gpt-4o") == count_messages([{**message, "content": ""}], "gpt-4o")


def test_count_messages_without_encodings_uses_the_heuristic(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(tmp_path / "empty"))
    # ceil(4/4) for "user" + ceil(11/4) for "hello world", plus the fixed chat overhead.
    assert count_messages([{"role": "user", "content": "hello world"}], "gpt-4o") == 3 + 1 + 3 + 3


def test_empty_text_is_zero_tokens():
    assert count_text("", "gpt-4o") == 0


def test_threads_that_need_an_encoding_first_wait_for_one_load(tmp_path, monkeypatch, no_network):
    # Loading o200k_base takes ~0.6 s and 70 MB: threads starting together used to load it each.
    import threading

    from otel_llmcost import tokens

    directory = tmp_path / "fresh"
    directory.mkdir()
    for file in SHARED_TIKTOKEN.iterdir():
        (directory / file.name).symlink_to(file)
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(directory))
    loads = []
    load = tokens._load_local_encoding

    def counted(name, path):
        loads.append(name)
        return load(name, path)

    monkeypatch.setattr(tokens, "_load_local_encoding", counted)
    start = threading.Barrier(6)
    counts = []

    def count():
        start.wait()
        counts.append(count_text("hello world", "gpt-4o"))

    threads = [threading.Thread(target=count) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [2] * 6
    assert loads == ["o200k_base"]


def _fresh_directory(tmp_path, monkeypatch):
    directory = tmp_path / "fresh"
    directory.mkdir()
    for file in SHARED_TIKTOKEN.iterdir():
        (directory / file.name).symlink_to(file)
    monkeypatch.setenv(sc.ENV_TIKTOKEN_DIR, str(directory))
    return directory


def _in_a_thread(function, seconds=60):
    """``function()``'s result, or a failure if it does not return in time (a deadlock must fail, not hang)."""
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert results, f"no result after {seconds} s: blocked"
    return results[0]


def test_a_count_re_entered_while_its_encoding_loads_is_estimated_not_a_deadlock(tmp_path, monkeypatch, no_network):
    # The garbage collector may run a finalizer mid-load on the loading thread (an abandoned stream ending,
    # counting its tokens): waiting on the load's lock there waited forever.
    from otel_llmcost import tokens

    _fresh_directory(tmp_path, monkeypatch)
    load = tokens._load_local_encoding
    inner = []

    def load_with_a_finalizer_inside(name, path):
        inner.append(count_text("a finalizer counting", "gpt-4o"))
        return load(name, path)

    monkeypatch.setattr(tokens, "_load_local_encoding", load_with_a_finalizer_inside)
    assert _in_a_thread(lambda: count_text("hello world", "gpt-4o")) == 2
    assert inner == [5]  # ceil(20 characters / 4), for that one count
    assert count_text("a finalizer counting", "gpt-4o") == 4  # then counted exactly


def test_an_encoding_path_that_is_no_file_is_not_read(tmp_path, monkeypatch, no_network, caplog):
    # A named pipe there blocked the read, holding the load's lock: every token count in the process waited.
    directory = _fresh_directory(tmp_path, monkeypatch)
    o200k = next(path for path in directory.iterdir() if path.stat().st_size > 3_000_000)
    o200k.unlink()
    os.mkfifo(o200k)
    with caplog.at_level(logging.WARNING, logger="otel_llmcost.tokens"):
        assert _in_a_thread(lambda: count_text("hello world", "gpt-4o"), seconds=20) == 3  # ceil(11 / 4)
    assert "is not a regular file" in caplog.text
