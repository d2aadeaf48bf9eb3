"""The spend report: numbers from the seeded truth, a self-contained HTML page whose chart shows
the spike, and (when Chromium is installed) that page rendered headless with the peak bar drawn."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import spenddata
from spenddata import NOW

from otel_llmcost.reporting import html, queries

START = NOW - timedelta(hours=24)
SPIKY = spenddata.dataset(True)
PEAK_RGB = (0xD1, 0x24, 0x2F)  # .bar.peak fill in the page's CSS


def calls(start=START, end=NOW, **match):
    return [c for c in SPIKY.calls if start <= c.ts < end and all(getattr(c, k) == v for k, v in match.items())]


def money(rows) -> float:
    return float(sum((c.cost for c in rows), Decimal(0)))


@pytest.fixture(scope="module")
def report(store):
    store.database = "spiky"
    try:
        return queries.build_report(store, START, NOW, ("model", "team", "prompt", "customer"))
    finally:
        store.database = "calm"


def test_totals_match_the_seeded_calls(report):
    rows = calls()
    assert report.totals["spend"] == pytest.approx(money(rows))
    assert report.totals["calls"] == len(rows)
    assert report.totals["unpriced_calls"] == 6
    assert report.totals["cache_hit_rate"] == pytest.approx(
        sum(c.cache_read for c in rows) / sum(c.input_tokens for c in rows)
    )


def test_breakdowns_rank_the_spike_first(report):
    by = {b.dimension: b for b in report.breakdowns}
    prompt = by["prompt"].rows[0]
    assert prompt[:2] == (spenddata.SPIKE_FINGERPRINT, spenddata.SPIKE_PROMPT)
    assert prompt[-1] == pytest.approx(money(calls(fingerprint=spenddata.SPIKE_FINGERPRINT)))
    assert by["team"].rows[0][0] == "support"
    assert "(unattributed)" in {row[0] for row in by["customer"].rows}


def test_hourly_series_has_every_hour_and_the_spike(report):
    assert len(report.series) == 24
    spend = {bucket: value for bucket, value in report.series}
    last_hour = NOW - timedelta(hours=1)
    assert spend[last_hour] == pytest.approx(money(calls(last_hour, NOW)))
    assert max(spend, key=spend.get) == last_hour
    quiet = NOW - timedelta(hours=3)
    assert spend[quiet] == pytest.approx(money(calls(quiet, quiet + timedelta(hours=1))))


class Bars(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bars = []
        self.tags = defaultdict(int)

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        attributes = dict(attrs)
        if tag == "rect" and "data-value" in attributes:
            self.bars.append(attributes)


def test_html_chart_shows_the_spike_and_loads_nothing(report):
    page = html.render(report)
    parser = Bars()
    parser.feed(page)
    peak = [bar for bar in parser.bars if "peak" in bar["class"].split()]
    assert len(peak) == 1
    assert peak[0]["data-label"] == "07-28 11:00"
    assert float(peak[0]["data-value"]) == pytest.approx(money(calls(NOW - timedelta(hours=1), NOW)), abs=1e-6)
    hourly = [bar for bar in parser.bars if bar["data-label"].startswith("07-2")]
    assert len(hourly) == 24
    assert parser.tags["script"] == 0 and parser.tags["link"] == 0 and parser.tags["img"] == 0
    assert not re.search(r"https?://|src=|@import|url\(", page)
    assert spenddata.SPIKE_PROMPT in page and spenddata.EXPENSIVE_TRACE in page


def _png_pixels(path: Path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA non-interlaced PNG, like Chromium writes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        chunk = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    return width, height, [[tuple(row[x * channels : x * channels + 3]) for x in range(width)] for row in rows]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (apt-get install -y chromium)")
def test_headless_chromium_draws_the_peak_bar(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(html.render(report))
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1000,700",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, _height, pixels = _png_pixels(shot)
    red = [
        (x, y)
        for y, row in enumerate(pixels)
        for x, rgb in enumerate(row)
        if all(abs(a - b) <= 8 for a, b in zip(rgb, PEAK_RGB, strict=True))
    ]
    assert len(red) > 500  # the peak bar is a tall red column...
    xs = {x for x, _ in red}
    assert min(xs) > width * 0.8  # ...at the right end of the chart: the last hour
