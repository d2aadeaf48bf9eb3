"""Metrics cost nothing when nothing records them, and start as soon as something does: with no
meter provider (the zero-code default) the API's proxy instruments drop every point, so the call
builds no metric attributes; a global meter provider set after ``instrument()`` takes effect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal as D
from pathlib import Path

from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider

from otel_llmcost import semconv as sc
from otel_llmcost.instrumentation.core import Telemetry

HERE = Path(__file__).parent


def test_a_no_op_meter_provider_records_nothing_and_an_sdk_one_everything():
    assert Telemetry(meter_provider=NoOpMeterProvider()).records_metrics is False
    assert Telemetry(meter_provider=MeterProvider()).records_metrics is True


def test_a_global_meter_provider_set_after_instrument_gets_the_points():
    # A fresh interpreter: the global meter provider can be set once per process.
    script = textwrap.dedent(
        """
        import json

        import openai
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from wire import Wire, chat_completion, chat_usage, http_client, http_module, json_reply

        from otel_llmcost.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=TracerProvider())  # no meter provider anywhere yet
        reply = json_reply(chat_completion("gpt-4o-mini-2024-07-18", "Hi", chat_usage(100, 10)))
        http = http_module("openai")
        client = openai.OpenAI(api_key="sk-test", http_client=http_client(http, Wire(http, reply, reply), False))

        def call():
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])

        call()  # dropped: nothing records metrics
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        call()
        points = {
            metric.name: [getattr(point, "count", None) or point.value for point in metric.data.data_points]
            for resource in reader.get_metrics_data().resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }
        print(json.dumps(points))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    env.pop(sc.ENV_PRICING_FILE, None)
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    points = json.loads(result.stdout)
    assert points[sc.METRIC_OPERATION_DURATION] == [1]  # one call: the second
    assert sorted(points[sc.METRIC_TOKEN_USAGE]) == [1, 1]  # its input and output points
    # gpt-4o-mini-2024-07-18: input 0.15, output 0.6 USD per 1M tokens
    assert points[sc.METRIC_COST] == [float(D(100) * D("0.15") / 10**6 + D(10) * D("0.6") / 10**6)]
