"""``otel-llmcost pricing``: look up prices, list the catalog, estimate a prompt's cost before sending it."""

from __future__ import annotations

import difflib
import json
import sys
from decimal import Decimal

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from otel_llmcost.cli.console import make_console
from otel_llmcost.pricing import PriceEntry, Usage, catalog_metadata, find_price, price_call
from otel_llmcost.pricing.catalog import all_entries
from otel_llmcost.pricing.cost import billed_rate
from otel_llmcost.pricing.entry import COMPONENTS, STANDARD, TIERS, format_price
from otel_llmcost.pricing.names import CATALOG_PROVIDERS, PART_OF, bare_id, catalog_provider
from otel_llmcost.tokens import count_messages, count_text, counting_method, media_parts

COLUMN_TITLES = {
    "input": "input",
    "cache_read": "cache read",
    "cache_write_5m": "cache write 5m",
    "cache_write_1h": "cache write 1h",
    "output": "output",
}
PROVIDER_HELP = "Provider that serves the model (openai, azure, anthropic, aws.bedrock, gcp.vertex_ai...)."


def _console() -> Console:
    # Piped output keeps whole model ids instead of rich's 80-column truncation.
    return make_console()


def _usd(amount: Decimal) -> str:
    return f"${format_price(amount)}"


def _unknown_model(model: str, provider: str | None = None) -> click.ClickException:
    name = bare_id(model)[0]
    served_by = sorted({entry.provider for entry in all_entries() if bare_id(entry.key)[0] == name})
    if served_by:  # priced for other providers only (a user's price, say)
        asked = "" if provider is None else f", not {provider}"
        return click.ClickException(
            f"{model!r} is priced only for the provider {' and '.join(served_by)}{asked}: "
            f"pass --provider {served_by[0]}."
        )
    names = sorted({bare_id(entry.key)[0] for entry in all_entries()})
    nearest = difflib.get_close_matches(bare_id(model)[0], names, n=5, cutoff=0.6)
    hint = f" Nearest known models: {', '.join(nearest)}." if nearest else ""
    return click.ClickException(
        f"No price for model {model!r}.{hint} Add one in a JSON file named by OTEL_LLMCOST_PRICING_FILE "
        '({"prices": [{"model": "...", "input": 1.0, "output": 2.0}]}, USD per 1M tokens) '
        "or with otel_llmcost.pricing.set_price()."
    )


def _provider(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--provider, checked: an unknown one would silently price the model at its maker's rates."""
    if value is None:
        return None
    known = {entry.provider for entry in all_entries()}
    if catalog_provider(value) in known:
        return value
    semconv_names = sorted(name for name, catalog in CATALOG_PROVIDERS.items() if catalog in known and name != catalog)
    nearest = difflib.get_close_matches(value.lower(), [*known, *semconv_names], n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(nearest)}?" if nearest else ""
    raise click.BadParameter(
        f"no priced model is served by provider {value!r}.{hint} Known providers: {', '.join(sorted(known))} "
        f"(or their gen_ai.provider.name: {', '.join(semconv_names)})."
    )


def _find(model: str, provider: str | None) -> PriceEntry:
    entry = find_price(model, provider)
    if entry is None:
        raise _unknown_model(model, provider)
    return entry


@click.group()
def pricing() -> None:
    """Look up prices and estimate a prompt's cost (USD per 1M tokens)."""


@pricing.command()
@click.argument("model")
@click.option("--provider", help=PROVIDER_HELP, callback=_provider)
def show(model: str, provider: str | None) -> None:
    """Show the catalog entry that prices MODEL and every rate it is billed at."""
    entry = _find(model, provider)
    console = _console()
    # Ids, modes and file names are the user's text, not markup ('acme[/]model', prices[prod].json).
    console.print(
        f"[bold]{escape(model)}[/] is priced by catalog entry [bold]{escape(entry.key)}[/] "
        f"({escape(entry.provider)}, {escape(entry.mode)})"
    )
    console.print(f"source: {escape(entry.source)}")
    console.print(f"effective date: {entry.effective_date}")
    if entry.long_context_threshold is not None:
        console.print(f"long context: past {entry.long_context_threshold:,} input tokens the whole request uses the long rates")
    if entry.web_search_per_1k is not None:
        console.print(f"web search: {_usd(entry.web_search_per_1k)} per 1,000 requests")
    for note in entry.notes:
        console.print(f"note: {escape(note)}")

    table = Table(
        title="USD per 1M tokens",
        caption="* derived from the listed prices (see otel_llmcost/pricing/cost.py); "
        "= input, = 5m write: billed as that price",
    )
    table.add_column("tier")
    for component in COMPONENTS:
        table.add_column(COLUMN_TITLES[component], justify="right")
    lengths = (False, True) if entry.long_context_threshold is not None else (False,)
    for long_context in lengths:
        for tier in TIERS:
            if not entry.offers(tier):
                continue
            cells = [_rate_cell(entry, tier, component, long_context) for component in COMPONENTS]
            table.add_row(f"{tier}{' (long context)' if long_context else ''}", *cells)
    console.print(table)


# How a cell says a price bills as another one's (the entry lists none for it)
_BILLED_AS = {"input": "= input", "cache_write_5m": "= 5m write"}


def _rate_cell(entry: PriceEntry, tier: str, component: str, long_context: bool) -> str:
    price, billed_as = billed_rate(entry, tier, component, long_context)
    if billed_as != component:
        return _BILLED_AS[billed_as]
    return _usd(price) + ("" if entry.price(tier, component, long_context) is not None else "*")


@pricing.command("list")
@click.option(
    "--provider",
    help=(
        "Only this provider's models (openai; azure: Azure OpenAI's and Foundry's; azure.ai.openai: Azure OpenAI's; "
        "azure_ai or azure.ai.inference: Foundry's; anthropic; bedrock or aws.bedrock; vertex_ai; gemini...)."
    ),
    callback=_provider,
)
@click.option("--search", help="Only models whose id contains this text.")
def list_(provider: str | None, search: str | None) -> None:
    """List the priced models (standard tier, USD per 1M tokens)."""
    wanted = catalog_provider(provider)
    # azure: both of Azure's lists; azure.ai.openai (the calls' provider name): Azure OpenAI's only
    covers = wanted is not None and provider.strip().lower() == wanted
    entries = [
        entry
        for entry in all_entries()
        if (wanted is None or wanted == entry.provider or (covers and wanted == PART_OF.get(entry.provider)))
        and (search is None or search.lower() in entry.key.lower())
    ]
    if not entries:
        raise click.ClickException("No priced model matches. Try without --provider/--search.")
    metadata = catalog_metadata()
    table = Table(title=f"catalog {metadata['catalog_version']} ({len(entries)} models)")
    for title in ("model", "provider", "mode", "input", "cache read", "output", "tiers", "date"):
        table.add_column(title, justify="right" if title in ("input", "cache read", "output") else "left")
    for entry in sorted(entries, key=lambda e: (e.provider, e.key)):
        table.add_row(
            escape(entry.key),
            escape(entry.provider),
            escape(entry.mode),
            *(_usd(price) if (price := entry.price(STANDARD, component)) is not None else "-" for component in ("input", "cache_read", "output")),
            ",".join(tier for tier in TIERS[1:] if entry.offers(tier)) + (" long" if entry.long_context_threshold else ""),
            entry.effective_date,
        )
    _console().print(table)


@pricing.command()
@click.option("--model", required=True, help="Model id as you would send it.")
@click.option("--provider", help=PROVIDER_HELP, callback=_provider)
@click.option("--text", help="The prompt text.")
@click.option("--file", "prompt_file", type=click.File("r", encoding="utf-8"), help="Read the prompt from a file ('-': stdin).")
@click.option(
    "--messages",
    is_flag=True,
    help="The prompt is a JSON array of chat messages ({role, content}); image, audio and file parts count 0.",
)
@click.option("--output-tokens", type=click.IntRange(min=0), default=0, show_default=True, help="Expected output tokens.")
@click.option("--cached-tokens", type=click.IntRange(min=0), default=0, show_default=True, help="Prompt tokens read from cache.")
@click.option(
    "--tier",
    type=click.Choice((*TIERS, "fast")),
    default=STANDARD,
    show_default=True,
    help="Service tier (fast: OpenAI's newer name for priority).",
)
def estimate(
    model: str,
    provider: str | None,
    text: str | None,
    prompt_file,
    messages: bool,
    output_tokens: int,
    cached_tokens: int,
    tier: str,
) -> None:
    """Estimate what a prompt will cost before sending it (prompt from --text, --file or stdin)."""
    entry = _find(model, provider)
    prompt = _read_prompt(text, prompt_file)
    input_tokens, media = _count_prompt(prompt, model, messages)
    if cached_tokens > input_tokens:
        raise click.BadParameter(
            f"{cached_tokens} cached tokens but the prompt has only {input_tokens}", param_hint="--cached-tokens"
        )
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=cached_tokens, output_tokens=output_tokens, estimated=True)
    cost = price_call(model, usage, provider=provider, service_tier=tier)
    assert cost is not None  # _find() found the entry

    console = _console()
    method = escape(counting_method(model))
    console.print(f"prompt: {input_tokens:,} tokens ({method}), {cached_tokens:,} of them cached")
    if media:
        console.print(
            f"not counted: {media} image, audio or file part(s), whose tokens depend on their size and the model: "
            "the prompt's cost is a floor"
        )
    console.print(f"output: {output_tokens:,} tokens (as given)")
    console.print(
        f"priced as {escape(entry.key)}, {cost.tier} tier{', long context' if cost.long_context else ''}, prices of {cost.price_date}"
    )
    table = Table()
    table.add_column("part")
    table.add_column("USD", justify="right")
    for part, amount in (("input", cost.input), ("cache read", cost.cache_read), ("output", cost.output)):
        table.add_row(part, _usd(amount))
    table.add_row("[bold]total[/]", f"[bold]{_usd(cost.total)}[/]")
    console.print(table)


def _read_prompt(text: str | None, prompt_file) -> str:
    if text is not None and prompt_file is not None:
        raise click.UsageError("Give the prompt with --text or --file, not both.")
    if text is not None:
        return text
    if prompt_file is not None:
        where = f"--file {prompt_file.name}"
        prompt = _decoded(prompt_file.read, where)
    elif sys.stdin is None or sys.stdin.isatty():
        raise click.UsageError("No prompt: pass --text, --file PATH, or pipe it on stdin.")
    else:
        # The bytes, decoded strictly: a text stdin's errors mode is surrogateescape, which would count
        # a Latin-1 file's accents as escapes instead of saying it is no UTF-8.
        stdin_bytes = getattr(sys.stdin, "buffer", None)
        read = sys.stdin.read if stdin_bytes is None else lambda: stdin_bytes.read().decode("utf-8")
        where, prompt = "stdin", _decoded(read, "stdin")
    if not prompt.strip():  # a script's empty pipe or file, not a prompt to price at $0
        raise click.UsageError(f"No prompt: {where} was empty. Pass the prompt's text, or --text '' for none.")
    return prompt


def _decoded(read, where: str) -> str:
    try:
        return read().removeprefix("\ufeff")  # a byte-order mark some editors write is no text of the prompt
    except UnicodeDecodeError as exc:
        raise click.UsageError(
            f"The prompt on {where} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}): "
            "convert it to UTF-8 (iconv -t UTF-8) or pass the text with --text."
        ) from None


def _count_prompt(prompt: str, model: str, messages: bool) -> tuple[int, int]:
    """The prompt's tokens, and how many image, audio and file parts it has (not counted)."""
    if not messages:
        return count_text(prompt, model), 0
    try:
        parsed = json.loads(prompt)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"the prompt is not valid JSON: {exc}", param_hint="--messages") from None
    except RecursionError:
        raise click.BadParameter("the prompt's JSON is nested too deeply to be messages", param_hint="--messages") from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise click.BadParameter(
            "a number in the prompt's JSON has too many digits to be read (over 4,300)", param_hint="--messages"
        ) from None
    if parsed == []:
        raise click.BadParameter('no messages: give at least one, like [{"role": "user", "content": "..."}]', param_hint="--messages")
    if not isinstance(parsed, list) or not all(isinstance(message, dict) for message in parsed):
        raise click.BadParameter('expected a JSON array of messages like [{"role": "user", "content": "..."}]', param_hint="--messages")
    return count_messages(parsed, model), media_parts(parsed)
