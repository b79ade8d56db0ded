"""Tiny server-side SVG charts: no JavaScript, no fonts or files from the internet.

Each function returns one `<svg>` element as a string, ready to inline in a page. Every text
from the caller (titles, labels, series names) is escaped, so the markup is always well-formed
XML. The charts are drawn for a projector and for print: large type, dark ink on white, series
told apart by dash pattern and marker shape as well as by colour, the numbers written beside the
bars and listed in a `<desc>` for screen readers, and a `viewBox` so they scale to any width.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape as _xml_escape

FONT = "'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',system-ui,sans-serif"
INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#c9d0d8"
BAR = "#0b5cad"
BAR_LOW = "#b3261e"
# (colour, dash pattern, marker) per series: distinguishable in black-and-white print too.
SERIES_STYLES = (
    ("#0b5cad", "", "circle"),
    ("#1e7b34", "10 6", "square"),
    ("#b3261e", "3 5", "triangle"),
    ("#7a4fb0", "14 4 3 4", "diamond"),
)
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text) -> str:
    """Text safe inside an XML element or a double-quoted attribute."""
    return _xml_escape(_INVALID_XML.sub("", str(text)), {'"': "&quot;"})


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK characters are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


def _shorten(text: str, size: float, room: float) -> str:
    if _text_width(text, size) <= room:
        return text
    while text and _text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _chart_id(*parts) -> str:
    digest = hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:10]
    return f"chart-{digest}"


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _axis(value: float, ticks: int = 4) -> tuple[float, float]:
    """(maximum, step) of an axis with about `ticks` round steps (1, 2 or 5 × 10^n, at least
    1: the charts count cases) reaching at least `value`."""
    if value <= 0:
        return float(ticks), 1.0
    raw = value / ticks
    exponent = math.floor(math.log10(raw))
    step = next(s * 10**exponent for s in (1, 2, 5, 10) if s * 10**exponent >= raw)
    step = max(float(step), 1.0)
    return step * math.ceil(value / step), step


def _open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width:g} {height:g}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{escape(FONT)}" fill="{INK}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width:g}" height="{height:g}" fill="#ffffff"/>',
        f'<text x="16" y="34" font-size="24" font-weight="700">{escape(title)}</text>',
    ]


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    value_format: Callable[[float], str] = _number,
    max_value: float | None = None,
    reference: float | None = None,
    warn_if: Callable[[float], bool] | None = None,
    width: int = 960,
    bar_height: int = 34,
    note: str = "",
) -> str:
    """Horizontal bars, one per label, the value written at the end of each bar. `None` is
    drawn as "—" (no data). A dashed line marks `reference` (a goal); bars for which `warn_if`
    is true are drawn in the warning colour (and say so in their tooltip)."""
    size = 18
    gap = 14
    label_room = min(
        max((_text_width(str(label), size) for label in labels), default=0) + 12, width * 0.38
    )
    left = 16 + label_room
    right = 110  # room for the value text
    plot = max(width - left - right, 50)
    top = 56
    height = top + len(labels) * (bar_height + gap) + (40 if note else 16)
    scale_max = max_value or _nice_max(max((v or 0 for v in values), default=0))
    desc = "; ".join(
        f"{label}: {value_format(v) if v is not None else '—'}"
        for label, v in zip(labels, values, strict=True)
    )
    chart_id = _chart_id("bar", title, tuple(labels), tuple(values))
    parts = _open(chart_id, width, height, title, desc)
    parts.append(
        f'<line x1="{left:.1f}" y1="{top - 6}" x2="{left:.1f}" '
        f'y2="{height - (40 if note else 16) + 2}" stroke="{INK}" stroke-width="2"/>'
    )
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * (bar_height + gap)
        middle = y + bar_height / 2 + size * 0.35
        label_text = str(label)
        parts.append(
            f'<text x="{left - 10:.1f}" y="{middle:.1f}" font-size="{size}" '
            f'text-anchor="end"><title>{escape(label_text)}</title>'
            f"{escape(_shorten(label_text, size, label_room - 12))}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{left + 8:.1f}" y="{middle:.1f}" font-size="{size}" '
                f'fill="{MUTED}">—</text>'
            )
            continue
        length = plot * min(max(value, 0) / scale_max, 1.0) if scale_max else 0
        warned = bool(warn_if and warn_if(value))
        colour = BAR_LOW if warned else BAR
        parts.append(
            f'<rect x="{left:.1f}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{colour}" stroke="{INK}" stroke-width="1"'
            + (' stroke-dasharray="4 2"' if warned else "")
            + "/>"
        )
        parts.append(
            f'<text x="{left + length + 8:.1f}" y="{middle:.1f}" font-size="{size}" '
            f'font-weight="700">{escape(value_format(value))}</text>'
        )
    if reference is not None and scale_max:
        x = left + plot * min(reference / scale_max, 1.0)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" '
            f'y2="{height - (40 if note else 16) + 2}" stroke="{INK}" stroke-width="2" '
            f'stroke-dasharray="6 4"/>'
        )
    if note:
        parts.append(
            f'<text x="16" y="{height - 12}" font-size="16" fill="{MUTED}">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    r = 6
    if kind == "square":
        return (
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" '
            f'fill="{colour}"/>'
        )
    if kind == "triangle":
        points = f"{x:.1f},{y - r - 1:.1f} {x - r - 1:.1f},{y + r:.1f} {x + r + 1:.1f},{y + r:.1f}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    if kind == "diamond":
        points = f"{x:.1f},{y - r - 2:.1f} {x - r - 2:.1f},{y:.1f} {x:.1f},{y + r + 2:.1f} "
        points += f"{x + r + 2:.1f},{y:.1f}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    value_format: Callable[[float], str] = _number,
    width: int = 960,
    height: int = 420,
    note: str = "",
) -> str:
    """One line per series over the x labels, with markers, a legend and a labelled y axis.
    A `None` value leaves a gap in its line."""
    size = 18
    left, right, top, bottom = 80, 24, 96, 56
    if note:
        height += 32
    plot_w, plot_h = width - left - right, height - top - bottom - (32 if note else 0)
    highest = max((v for _name, values in series for v in values if v is not None), default=0)
    scale_max, step = _axis(highest)
    n = len(x_labels)

    def x_at(index: int) -> float:
        return left + (plot_w * index / (n - 1) if n > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        return top + plot_h * (1 - value / scale_max)

    desc = "; ".join(
        f"{name}: "
        + ", ".join(
            f"{label} {value_format(v) if v is not None else '—'}"
            for label, v in zip(x_labels, values, strict=True)
        )
        for name, values in series
    )
    chart_id = _chart_id("line", title, tuple(x_labels), tuple((s, tuple(v)) for s, v in series))
    parts = _open(chart_id, width, height, title, desc)
    # Legend, under the title.
    x = 16.0
    for index, (name, _values) in enumerate(series):
        colour, dash, marker = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.1f}" y1="62" x2="{x + 40:.1f}" y2="62" stroke="{colour}" '
            f'stroke-width="4"{dash_attr}/>'
        )
        parts.append(_marker(marker, x + 20, 62, colour))
        parts.append(
            f'<text x="{x + 48:.1f}" y="{62 + size * 0.35:.1f}" font-size="{size}">'
            f"{escape(name)}</text>"
        )
        x += 48 + _text_width(str(name), size) + 28
    # Grid and y axis.
    for tick in range(round(scale_max / step) + 1):
        level = tick * step
        y = y_at(level)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 10}" y="{y + 6:.1f}" font-size="16" text-anchor="end" '
            f'fill="{MUTED}">{escape(value_format(level))}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        f'stroke="{INK}" stroke-width="2"/>'
    )
    # X labels: as many as fit without overlapping.
    widest = max((_text_width(str(label), 16) for label in x_labels), default=0) + 12
    every = max(1, math.ceil(widest / (plot_w / max(n, 1))))
    for index, label in enumerate(x_labels):
        if index % every and index != n - 1:
            continue
        parts.append(
            f'<text x="{x_at(index):.1f}" y="{top + plot_h + 28}" font-size="16" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    # Lines.
    for index, (name, values) in enumerate(series):
        colour, dash, marker = SERIES_STYLES[index % len(SERIES_STYLES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x_at(i), y_at(value)))
        parts.append(f'<g class="series"><title>{escape(name)}</title>')
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="4" stroke-linejoin="round"{dash_attr}/>'
                )
            for px, py in run:
                parts.append(_marker(marker, px, py, colour))
        parts.append("</g>")
    if note:
        parts.append(
            f'<text x="16" y="{height - 12}" font-size="16" fill="{MUTED}">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
