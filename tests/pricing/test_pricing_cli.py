import json

import pytest
from click.testing import CliRunner

from otel_llmcost.cli.main import cli


def run(*args, input=None):
    return CliRunner().invoke(cli, ["pricing", *args], input=input)


def test_show_prints_the_matched_entry_and_its_rates():
    result = run("show", "gpt-4o-mini-2024-07-18")
    assert result.exit_code == 0, result.output
    assert "catalog entry gpt-4o-mini-2024-07-18 (openai, chat)" in result.output
    assert "litellm model_prices_and_context_window.json 2026-07-24" in result.output
    standard = next(line for line in result.output.splitlines() if line.startswith("│ standard"))
    assert [cell.strip() for cell in standard.strip("│").split("│")] == ["standard", "$0.15", "$0.075", "= input", "= input", "$0.6"]


def test_show_says_a_1h_cache_write_without_a_price_bills_as_the_5m_one(monkeypatch, tmp_path):
    # A price with a 5-minute cache write only: a 1-hour write is billed at it ($5), not at the input price ($4).
    from otel_llmcost import semconv as sc
    from otel_llmcost.pricing import Usage, clear_overrides, price_call

    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"prices": [{"model": "my-claude", "input": 4, "output": 20, "cache_write_5m": 5}]}))
    monkeypatch.setenv(sc.ENV_PRICING_FILE, str(path))
    clear_overrides()
    result = run("show", "my-claude")
    standard = next(line for line in result.output.splitlines() if line.startswith("│ standard"))
    assert [cell.strip() for cell in standard.strip("│").split("│")] == ["standard", "$4", "= input", "$5", "= 5m write", "$20"]
    assert price_call("my-claude", Usage(input_tokens=1_000_000, cache_write_1h_tokens=1_000_000)).total == 5


def test_show_unknown_model_suggests_the_nearest():
    result = run("show", "gpt-4o-mni")
    assert result.exit_code == 1
    assert "No price for model 'gpt-4o-mni'" in result.output
    assert "gpt-4o-mini" in result.output and "OTEL_LLMCOST_PRICING_FILE" in result.output
    assert "Traceback" not in result.output


def test_estimate_counts_the_prompt_and_prices_it():
    # "hello world" is 2 o200k tokens, 1 of them cached; gpt-4o-mini: $0.15 input, $0.075 cached, $0.60 output.
    result = run("estimate", "--model", "gpt-4o-mini", "--text", "hello world", "--output-tokens", "1000", "--cached-tokens", "1")
    assert result.exit_code == 0, result.output
    assert "prompt: 2 tokens (tiktoken o200k_base), 1 of them cached" in result.output
    # total = 1 * 0.15/1M + 1 * 0.075/1M + 1000 * 0.6/1M = 0.000000225 + 0.0006
    assert "$0.000600225" in result.output


def test_estimate_reads_chat_messages_from_stdin():
    messages = json.dumps([{"role": "user", "content": "hello world"}])
    # 3 + "user" 1 + "hello world" 2 + 3 = 9 cl100k tokens (Claude is approximated with cl100k);
    # batch tier of claude-sonnet-4-5: $1.50 per 1M input -> 9 * 1.5 / 1M.
    result = run("estimate", "--model", "claude-sonnet-4-5", "--messages", "--tier", "batch", input=messages)
    assert result.exit_code == 0, result.output
    assert "prompt: 9 tokens (tiktoken cl100k_base (approximation" in result.output
    assert "priced as claude-sonnet-4-5, batch tier, prices of 2026-07-24" in result.output
    assert "$0.0000135" in result.output


@pytest.mark.parametrize("model", ["gemini-2.5-pro", "grok-4", "deepseek-chat", "mistral-large-latest"])
def test_estimate_of_a_model_tiktoken_has_no_tokenizer_for_says_it_is_approximate(model):
    result = run("estimate", "--model", model, "--text", "hello world")
    assert result.exit_code == 0, result.output
    assert "prompt: 2 tokens (tiktoken o200k_base (approximation: tiktoken does not have" in result.output


def test_estimate_rejects_more_cached_tokens_than_the_prompt_has():
    result = run("estimate", "--model", "gpt-4o-mini", "--text", "hello world", "--cached-tokens", "5")
    assert result.exit_code == 2
    assert "5 cached tokens but the prompt has only 2" in result.output


def test_list_filters_by_provider():
    result = run("list", "--provider", "anthropic", "--search", "claude-3-opus")
    assert result.exit_code == 0, result.output
    assert "claude-3-opus-20240229" in result.output and "$15" in result.output and "$75" in result.output
    assert "bedrock" not in result.output


def test_estimate_of_a_file_that_is_not_utf8_says_so(tmp_path):
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes(b"\xff\xfe latin-1 \xe9t\xe9")
    for args, data in ((("--file", str(prompt)), None), (("--file", "-"), prompt.read_bytes())):
        result = run("estimate", "--model", "gpt-4o-mini", *args, input=data)
        assert result.exit_code == 2, result.output
        assert "is not UTF-8 text (byte 0xff at offset 0)" in result.output
        assert isinstance(result.exception, SystemExit)  # a usage error, not an exception from inside


def test_estimate_of_a_pipe_that_is_not_utf8_says_so():
    # A real process's stdin decodes with surrogateescape: the Latin-1 bytes must not pass as 10 tokens.
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "otel_llmcost.cli", "pricing", "estimate", "--model", "gpt-4o-mini"],
        input="café au lait".encode("latin-1"),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout
    assert b"The prompt on stdin is not UTF-8 text (byte 0xe9 at offset 3)" in result.stderr


def test_provider_is_read_as_everywhere_else_and_an_unknown_one_is_refused():
    # list takes the gen_ai.provider.name spelling too, as show and estimate do
    result = run("list", "--provider", "aws.bedrock", "--search", "claude-sonnet-4-5-20250929")
    assert result.exit_code == 0, result.output
    assert "us.anthropic.claude-sonnet-4-5-20250929-v1:0" in result.output
    # a misspelt provider used to price gpt-4o at OpenAI's rates without a word
    result = run("show", "gpt-4o", "--provider", "azur")
    assert result.exit_code == 2
    assert "no priced model is served by provider 'azur'. Did you mean azure or azure_ai?" in result.output
    assert "azure.ai.openai" in result.output


def test_show_a_model_priced_for_one_provider_only_names_it(monkeypatch, tmp_path):
    from otel_llmcost.pricing import clear_overrides

    prices = tmp_path / "prices.json"
    price = {"model": "my-finetuned-llama", "provider": "openai", "input": 1, "output": 2}
    prices.write_text(json.dumps({"prices": [price]}))
    monkeypatch.setenv("OTEL_LLMCOST_PRICING_FILE", str(prices))
    clear_overrides()  # the conftest clears them again after the test

    result = run("show", "my-finetuned-llama")
    assert result.exit_code == 1
    assert "'my-finetuned-llama' is priced only for the provider openai: pass --provider openai." in result.output
    assert run("show", "my-finetuned-llama", "--provider", "openai").exit_code == 0
    # another provider: the same hint (it said "no price ... nearest known models: my-finetuned-llama")
    result = run("show", "my-finetuned-llama", "--provider", "azure")
    assert result.exit_code == 1
    assert "priced only for the provider openai, not azure: pass --provider openai." in result.output


def test_estimate_of_messages_nested_deeper_than_python_recurses(tmp_path):
    # 500 levels passed the JSON reader's depth check and then crashed the count with a traceback
    nested: dict = {"text": "the parcel left the depot"}
    for _ in range(600):
        nested = {"step": nested}
    messages = json.dumps([{"role": "tool", "tool_call_id": "call_1", "content": nested}])
    result = run("estimate", "--model", "gpt-4.1", "--messages", input=messages)
    assert result.exit_code == 0, result.output
    assert "total" in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "problem"),
    [
        (["--model", "gpt-4o", "--output-tokens", "500"], "", "No prompt: stdin was empty"),  # cron's empty pipe
        (["--model", "gpt-4o", "--messages"], "[]", "no messages"),
        (["--model", "gpt-4o", "--messages"], "[" * 100_000, "nested too deeply"),
        (["--model", "gpt-4o", "--messages"], "[" + "7" * 5000 + "]", "has too many digits to be read"),
    ],
    ids=["empty stdin", "empty message list", "deeply nested JSON", "a 5,000-digit number"],
)
def test_estimate_of_no_prompt_or_unreadable_messages_says_so(args, stdin, problem):
    result = run("estimate", *args, input=stdin)
    assert result.exit_code == 2, result.output
    assert problem in result.output and "Traceback" not in result.output


def test_estimate_of_a_file_with_a_byte_order_mark_counts_its_text(tmp_path):
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("hello world", encoding="utf-8")
    marked.write_text("hello world", encoding="utf-8-sig")
    outputs = [run("estimate", "--model", "gpt-4o-mini", "--file", str(path)).output for path in (plain, marked)]
    assert "prompt: 2 tokens" in outputs[0] and outputs[0] == outputs[1]


def test_ids_and_file_names_are_shown_as_written_not_read_as_markup(monkeypatch, tmp_path):
    from otel_llmcost import semconv as sc
    from otel_llmcost.pricing import clear_overrides

    path = tmp_path / "prices[prod].json"
    items = [{"model": "acme[/]model", "input": 1, "output": 2}, {"model": "team[red]-llm", "input": 1, "output": 2}]
    path.write_text(json.dumps({"prices": items}))
    monkeypatch.setenv(sc.ENV_PRICING_FILE, str(path))
    clear_overrides()
    shown = run("show", "acme[/]model")  # a markup error's traceback before
    assert shown.exit_code == 0, shown.output
    assert "acme[/]model is priced by catalog entry acme[/]model" in shown.output
    assert f"source: override file {path}" in shown.output.replace("\n", "")
    listed = run("list", "--search", "[red]")
    assert listed.exit_code == 0, listed.output
    assert "team[red]-llm" in listed.output


def test_estimate_takes_openais_fast_tier_as_priority():
    # OpenAI renamed priority processing "fast"; requests take either name. gpt-5 priority: $2.50 / $20 per 1M.
    args = ["pricing", "estimate", "--model", "gpt-5", "--text", "hi", "--output-tokens", "1000000"]
    fast = CliRunner().invoke(cli, [*args, "--tier", "fast"])
    priority = CliRunner().invoke(cli, [*args, "--tier", "priority"])
    assert fast.exit_code == 0, fast.output
    assert "priority tier" in fast.output and "$20" in fast.output
    assert fast.output == priority.output


def test_list_by_azure_shows_both_its_lists_and_by_a_call_provider_name_only_that_ones():
    listed = {}
    keys = ("azure/mistral-large-latest", "azure_ai/mistral-large-latest")
    for provider in ("azure", "azure.ai.openai", "azure.ai.inference", "azure_ai"):
        result = run("list", "--provider", provider, "--search", "mistral-large-latest")
        assert result.exit_code == 0, result.output
        listed[provider] = {key for key in keys if key in result.output}
    assert listed["azure"] == {"azure/mistral-large-latest", "azure_ai/mistral-large-latest"}
    assert listed["azure.ai.openai"] == {"azure/mistral-large-latest"}
    assert listed["azure.ai.inference"] == listed["azure_ai"] == {"azure_ai/mistral-large-latest"}


def test_estimate_says_the_image_parts_it_does_not_count():
    # A pre-flight budget: the image's tokens (by its size, detail and the model) are not in the prompt's count
    image = {"type": "image_url", "image_url": {"url": "https://example.com/parcel.png", "detail": "low"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is in this image?"}, image]}]
    result = run("estimate", "--model", "gpt-4o-mini", "--messages", input=json.dumps(messages))
    assert result.exit_code == 0, result.output
    text_only = [{"role": "user", "content": [{"type": "text", "text": "What is in this image?"}]}]
    same = run("estimate", "--model", "gpt-4o-mini", "--messages", input=json.dumps(text_only))
    assert result.output.splitlines()[0] == same.output.splitlines()[0]  # the same count: the image adds 0
    assert "not counted: 1 image, audio or file part(s)" in result.output
    assert "not counted" not in same.output
