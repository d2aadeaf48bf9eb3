"""Inline SVG charts for the HTML report: no script, no fonts, nothing fetched.

Each bar carries ``data-label`` and ``data-value`` (and a ``<title>`` tooltip), so a reader,
a test or a screen reader gets the exact number behind the drawing.
"""

from __future__ import annotations

from html import escape


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 or value == 0 else f"${value:,.4f}"


def column_chart(points: list[tuple[str, float]], *, title: str, width: int = 900, height: int = 260) -> str:
    """Vertical bars over time; the tallest bar is marked as the peak."""
    left, bottom, top = 64, 28, 24
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((v for _, v in points), default=0.0)
    scale = plot_h / peak if peak > 0 else 0.0
    slot = plot_w / max(len(points), 1)
    bar_w = max(slot * 0.8, 1.0)
    parts = [
        (
            f'<svg role="img" class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        ),
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 10}" class="tick" text-anchor="end">{escape(_money(peak))}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" class="tick" text-anchor="end">$0</text>',
    ]
    for index, (label, value) in enumerate(points):
        h = value * scale
        x = left + index * slot + (slot - bar_w) / 2
        cls = "bar peak" if value == peak and peak > 0 else "bar"
        parts.append(
            f'<rect class="{cls}" x="{x:.2f}" y="{top + plot_h - h:.2f}" width="{bar_w:.2f}" height="{h:.2f}" '
            f'data-label="{escape(label)}" data-value="{value:.6f}"><title>{escape(label)}: {escape(_money(value))}</title></rect>'
        )
    if points:
        parts.append(f'<text x="{left}" y="{height - 8}" class="tick">{escape(points[0][0])}</text>')
        parts.append(
            f'<text x="{width - 8}" y="{height - 8}" class="tick" text-anchor="end">{escape(points[-1][0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_list(items: list[tuple[str, float]], *, title: str, width: int = 440) -> str:
    """Horizontal bars, largest first, labelled with their amount."""
    row_h, label_w = 22, 170
    height = 24 + row_h * len(items)
    peak = max((v for _, v in items), default=0.0)
    scale = (width - label_w - 90) / peak if peak > 0 else 0.0
    parts = [
        (
            f'<svg role="img" class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        ),
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = 24 + index * row_h
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" class="tick" text-anchor="end">{escape(short)}</text>')
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{value * scale:.2f}" height="{row_h - 6}" '
            f'data-label="{escape(label)}" data-value="{value:.6f}"><title>{escape(label)}: {escape(_money(value))}</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + value * scale + 4:.2f}" y="{y + 14}" class="tick">{escape(_money(value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
