"""Token counts with tiktoken that never touch the network.

tiktoken downloads an encoding's file on first use. Air-gapped hosts have no network and an
instrumented app must never block on one, so encodings are read only from a local directory:
``OTEL_LLMCOST_TIKTOKEN_DIR``, else ``TIKTOKEN_CACHE_DIR`` (tiktoken's own setting), else
tiktoken's default cache ``<tmp>/data-gym-cache``. The files there are named as tiktoken's
cache names them (sha1 of the download URL), so a cache directory filled by tiktoken on a
machine with network, or the one tiktoken wheels ship, works as is.

When an encoding's file is missing, counts fall back to ceil(characters / 4) (OpenAI's rule of
thumb for English text) and one warning per encoding says how to provide the file.

Encodings: o200k_base for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series, cl100k_base for
gpt-4, gpt-3.5 and the embedding models (tiktoken's own model table). Claude's tokenizer is
not public: Claude models are counted with cl100k_base, an approximation (Claude usually
needs somewhat more tokens for the same text). Other unknown models use o200k_base.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
import types
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import tiktoken
import tiktoken.model
import tiktoken_ext.openai_public as openai_public

from otel_llmcost import semconv as sc
from otel_llmcost.pricing.names import bare_id

logger = logging.getLogger("otel_llmcost.tokens")

CHARS_PER_TOKEN = 4  # the fallback heuristic
# OpenAI chat format: every message is wrapped in <|start|>{role/name}\n{content}<|end|>\n,
# a name costs one more token, and every reply is primed with <|start|>assistant<|message|>.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_REPLY = 3

DEFAULT_ENCODING = "o200k_base"
CLAUDE_ENCODING = "cl100k_base"
# Encodings that tiktoken builds from one downloadable ranks file; o200k_harmony only adds special
# tokens to o200k_base, so ordinary text counts the same with o200k_base.
LOCAL_ENCODINGS = {"r50k_base", "p50k_base", "cl100k_base", "o200k_base"}
SAME_RANKS = {"o200k_harmony": "o200k_base", "p50k_edit": "p50k_base", "gpt2": "r50k_base"}
# Fields a request carries that the model does not read as text: a reasoning item's ciphertext (Responses
# with include=["reasoning.encrypted_content"]) would count about a token per character.
_OPAQUE_KEYS = frozenset(("encrypted_content",))
_NOT_TEXT_PARTS = {
    "image",
    "image_url",
    "input_image",
    "input_audio",
    "audio",
    "file",
    "input_file",
    "document",
    "computer_screenshot",
    "image_generation_call",  # a Responses item carried into the next turn: its result is the image, base64
}


class _EncodingUnavailable(Exception):
    pass


def encoding_dir() -> Path:
    # ours first, then tiktoken's own two, in tiktoken's order
    for variable in (sc.ENV_TIKTOKEN_DIR, sc.ENV_TIKTOKEN_CACHE_DIR, sc.ENV_DATA_GYM_CACHE_DIR):
        value = os.environ.get(variable, "").strip()
        if value:
            return Path(value).expanduser()
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def encoding_name_for(model: str) -> str:
    return _encoding_of(model)[0]


def _encoding_of(model: str) -> tuple[str, bool]:
    """The encoding that counts ``model``'s tokens, and whether it is the model's own (an OpenAI model
    tiktoken knows) rather than a stand-in (Claude, Gemini, Grok, Llama...: tokenizers tiktoken lacks)."""
    name, _ = bare_id(model or "")
    if name.startswith("ft:"):  # ft:<base model>:<org>:<suffix>:<id>: the base model's encoding
        name = name.split(":")[1]  # (tiktoken's own "ft:gpt-4" prefix would give ft:gpt-4.1-* cl100k)
    if "claude" in name:
        return CLAUDE_ENCODING, False
    try:
        encoding = tiktoken.model.encoding_name_for_model(name)
    except KeyError:
        return DEFAULT_ENCODING, False
    return SAME_RANKS.get(encoding, encoding), True


def count_text(text: str, model: str) -> int:
    """Tokens of ``text`` for ``model`` (an estimate when the encoding file is not available)."""
    if not text:
        return 0
    encoding = _encoding(encoding_name_for(model), str(encoding_dir()))
    if encoding is None:
        return math.ceil(len(text) / CHARS_PER_TOKEN)
    return len(encoding.encode_ordinary(text))


def count_tool(tool: Any, model: str) -> int:
    """Input tokens of one tool definition: its name, description and parameter schema (with the
    schema's own descriptions and enums), which the model reads, as OpenAI's token-counting guide
    counts a function (``name:description`` then the parameters). Chat's ``{"function": {...}}`` and
    ``{"custom": {...}}``, the Responses API's and Anthropic's flat definitions, custom tools' ``format``
    and built-in tools (only a type and options) are all read."""
    if not isinstance(tool, Mapping):
        return count_text(str(tool), model)
    definition = next((tool[key] for key in ("function", "custom") if isinstance(tool.get(key), Mapping)), tool)
    name = definition.get("name") or tool.get("type") or ""
    description = definition.get("description") or ""
    schema = next(
        (definition[key] for key in ("parameters", "input_schema", "format") if definition.get(key) is not None), None
    )
    text = f"{name}:{description}"
    if schema is not None:
        text += ":" + json.dumps(schema, ensure_ascii=False, separators=(",", ":"), default=str)
    return count_text(text, model)


def counting_method(model: str) -> str:
    """How ``count_text`` counts for ``model``, for people reading an estimate."""
    name, own = _encoding_of(model)
    if _encoding(name, str(encoding_dir())) is None:
        return f"estimate: ceil(characters / {CHARS_PER_TOKEN}), {name} files not found in {encoding_dir()}"
    if "claude" in bare_id(model or "")[0]:
        return f"tiktoken {name} (approximation: Claude's tokenizer is not public)"
    if not own:
        return f"tiktoken {name} (approximation: tiktoken does not have this model's tokenizer)"
    return f"tiktoken {name}"


def count_messages(messages: Iterable[Any], model: str) -> int:
    """Prompt tokens of a chat request in OpenAI's message format (dicts with role, content, name...).

    Text content parts are counted, images, audio and files are not; other structured values
    (tool calls) are counted as their JSON.
    """
    total = TOKENS_PER_REPLY
    for message in messages:
        fields = _as_mapping(message)
        total += TOKENS_PER_MESSAGE
        if _is_media(fields):  # an item that is an image (Responses: an earlier turn's image_generation_call)
            continue
        for key, value in fields.items():
            if key in _OPAQUE_KEYS:
                continue
            total += count_text(_text_of(value), model)
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def _as_mapping(message: Any) -> Mapping[str, Any]:
    if isinstance(message, Mapping):
        return message
    dump = getattr(message, "model_dump", None)  # pydantic message objects of the SDKs
    return dump(exclude_none=True) if callable(dump) else {"content": str(message)}


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_text_of_part(part) for part in value)
    return _json_text(value)


def _text_of_part(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Mapping):
        if isinstance(part.get("text"), str):
            return part["text"]
        if _is_media(part):
            return ""
    return _json_text(part)


def _json_text(value: Any) -> str:
    """A structured value's JSON as it is counted (``_without_media``). One nested past what the JSON
    encoder recurses into (a tool's input echoed back, hundreds of levels deep) counts as its keys and
    texts alone: a little under its JSON's count, where it used to lose the whole call's estimate."""
    try:
        cleaned = _without_media(value)
    except ValueError:  # too large, or cyclic (which JSON could not hold either): counted as nothing
        return ""
    try:
        return json.dumps(cleaned, default=str, ensure_ascii=False)
    except RecursionError:
        return " ".join(_leaves(cleaned))


def _without_media(value: Any) -> Any:
    """A structured value (a tool result, a computer call's output) as its JSON is counted: without the
    images, audio and files nested in it, which are not text tokens (a screenshot's base64 would count
    as hundreds of thousands). Walked without recursion: a prompt may nest deeper than Python recurses."""
    top: list[Any] = [None]
    pending: list[tuple[Any, Any, Any]] = [(value, top, 0)]  # (value, where its copy goes, under which key)
    walked = 0
    while pending:
        item, into, key = pending.pop()
        walked += 1
        if walked > _MOST_VALUES:  # a value that holds itself would be walked for ever
            raise ValueError(f"a value of more than {_MOST_VALUES:,} parts, or one that holds itself")
        if isinstance(item, Mapping):
            if _is_media(item):
                into[key] = None
                continue
            copied: dict[Any, Any] = {}
            into[key] = copied
            for name, inner in item.items():
                if name not in _OPAQUE_KEYS:
                    copied[name] = None  # the keys keep their order
                    pending.append((inner, copied, name))
        elif isinstance(item, list):
            into[key] = listed = [None] * len(item)
            pending.extend((inner, listed, index) for index, inner in enumerate(item))
        elif isinstance(item, str) and item.startswith("data:"):
            into[key] = ""
        else:
            into[key] = item
    return top[0]


def media_parts(value: Any) -> int:
    """How many image, audio and file parts ``value`` (messages, a message, its content) holds: counted
    as 0 tokens, a floor, wherever a request is counted."""
    found, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            if _is_media(item):
                found += 1
            else:
                pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def _is_media(part: Mapping[Any, Any]) -> bool:
    """An image, audio or file part. A JSON schema's ``"type": ["string", "null"]`` (in a tool's
    result, say) is no part type: it raised TypeError, and the call lost its estimate."""
    kind = part.get("type")
    return isinstance(kind, str) and kind in _NOT_TEXT_PARTS  # a str enum's member too


_MOST_VALUES = 1_000_000


def _leaves(value: Any) -> Iterator[str]:
    """The keys and scalar values of a JSON-like value, depth first, without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for name, inner in reversed(item.items()):
                pending.append(inner)
                pending.append(name)
        elif isinstance(item, list):
            pending.extend(reversed(item))
        elif item is not None:
            yield str(item)


_loaded: dict[tuple[str, str], tiktoken.Encoding | None] = {}
_loading = threading.RLock()
_in_load: set[tuple[str, str]] = set()  # the encodings the thread holding _loading is loading


def _encoding(name: str, directory: str) -> tiktoken.Encoding | None:
    """The encoding, loaded once per process: threads that need it first wait for one load (~0.6 s
    and 70 MB for o200k_base) instead of each loading it."""
    key = (name, directory)
    try:
        return _loaded[key]
    except KeyError:
        pass
    with _loading:
        if key in _loaded:
            return _loaded[key]
        if key in _in_load:
            # Re-entered on the loading thread itself: the garbage collector ran a finalizer mid-load (an
            # abandoned stream ending, counting its tokens). Waiting would wait forever: this count is
            # estimated from characters.
            return None
        _in_load.add(key)
        try:
            _loaded[key] = _load_or_warn(name, directory)
        finally:
            _in_load.discard(key)
        return _loaded[key]


def warm(model: str) -> None:
    """Load ``model``'s encoding on a thread of its own, if it is not loaded yet: a count needed soon on
    the caller's thread (an agent step charging the tool results it resends) then waits less, or not at
    all, than loading it there (~0.6 s). Never raises."""
    try:
        key = (encoding_name_for(model), str(encoding_dir()))
        if key in _loaded or key in _warming:
            return
        _warming.add(key)
        threading.Thread(target=_encoding, args=key, daemon=True, name="otel-llmcost-tokenizer").start()
    except Exception:  # noqa: BLE001 (an optimisation: the count loads it itself)
        logger.debug("otel-llmcost: could not load the encoding ahead", exc_info=True)


_warming: set[tuple[str, str]] = set()


def _load_or_warn(name: str, directory: str) -> tiktoken.Encoding | None:
    try:
        return _load_local_encoding(name, Path(directory))
    except _EncodingUnavailable as exc:
        logger.warning(
            "Token counts for %s are estimated as ceil(characters / %d): %s. To count exactly offline, "
            "put tiktoken's encoding files in a directory and name it with %s (or %s).",
            name,
            CHARS_PER_TOKEN,
            exc,
            sc.ENV_TIKTOKEN_DIR,
            sc.ENV_TIKTOKEN_CACHE_DIR,
        )
        return None


def _load_local_encoding(name: str, directory: Path) -> tiktoken.Encoding:
    if name not in LOCAL_ENCODINGS:
        raise _EncodingUnavailable(f"{name} cannot be loaded from a local file")
    # Run tiktoken's own constructor (pattern, special tokens, file URL and hash stay tiktoken's)
    # with a ranks loader that only reads the local cache file, so no code path can download.
    constructor = getattr(openai_public, name)
    scope = {**vars(openai_public), "load_tiktoken_bpe": functools.partial(_read_local_ranks, directory)}
    spec = types.FunctionType(constructor.__code__, scope, constructor.__name__)()
    return tiktoken.Encoding(**spec)


def _read_local_ranks(directory: Path, url: str, expected_hash: str | None = None) -> dict[bytes, int]:
    path = directory / hashlib.sha1(url.encode()).hexdigest()
    if path.exists() and not path.is_file():  # a pipe would block the read, and every token count with it
        raise _EncodingUnavailable(f"{path} ({url.rsplit('/', 1)[-1]}) is not a regular file")
    try:
        contents = path.read_bytes()
    except OSError as exc:
        name = url.rsplit("/", 1)[-1]
        raise _EncodingUnavailable(f"{path} ({name}) is not readable: {exc.strerror or exc}") from None
    if expected_hash is not None and hashlib.sha256(contents).hexdigest() != expected_hash:
        raise _EncodingUnavailable(f"{path} is not tiktoken's {url.rsplit('/', 1)[-1]} (sha256 mismatch)")
    ranks = {}
    for line in contents.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks
