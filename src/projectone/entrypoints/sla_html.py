"""The SLA report of a morning as one self-contained HTML page.

The page is mailed, attached to tickets and opened offline, so it carries everything inline:
CSS in a ``<style>`` element, the chart as inline SVG, no script, no font, image or link to
fetch. Every piece of text goes through :func:`html.escape`, numbers included, so nothing in a
summary can turn into markup.

:func:`summary_rows` is the one list of figures, shared with the terminal table of
``projectone report sla``, so the two reports cannot disagree on what they show.
"""

from __future__ import annotations

import datetime as dt
import html

from projectone.domain.delivery import SLA_WINDOW
from projectone.domain.sla import SlaSummary
from projectone.domain.timezone import IST

__all__ = ["CAPTION", "render_sla_html", "summary_rows"]

_SLA_MINUTES = int(SLA_WINDOW.total_seconds() // 60)
CAPTION = f"SLA: accepted by WhatsApp within {_SLA_MINUTES} minutes of the send time"


def _count_and_ratio(n: int, ratio: float | None) -> str:
    return f"{n} ({_percent(ratio)})"


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2%}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def summary_rows(s: SlaSummary) -> list[tuple[str, str]]:
    """The figures of ``s`` as (measure, value) pairs, in reading order.

    Delivered and read ratios are of the messages sent ("-" when nothing was sent).
    """
    return [
        ("planned", str(s.planned)),
        ("sent", str(s.sent)),
        ("failed", str(s.failed)),
        ("still pending", str(s.pending)),
        ("SLA met (sent by target)", str(s.sla_met)),
        ("SLA missed", str(s.sla_missed)),
        ("SLA met ratio", _percent(s.sla_met_ratio)),
        ("delivered (of sent)", _count_and_ratio(s.delivered, s.delivered_ratio)),
        ("delivered by target", str(s.delivered_by_target)),
        ("read (of sent)", _count_and_ratio(s.read, s.read_ratio)),
        ("delay p50", _seconds(s.p50_delay_seconds)),
        ("delay p95", _seconds(s.p95_delay_seconds)),
        ("delay max", _seconds(s.max_delay_seconds)),
        ("fallback packs used", str(s.fallbacks_used)),
        ("SMS backups", str(s.sms_backups)),
        ("duplicates detected", str(s.duplicates)),
    ]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1b1f24; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
p.caption { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; min-width: 24rem; }
th, td { border-bottom: 1px solid #d0d7de; padding: 0.3rem 0.8rem; text-align: left; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
tr.zero td { color: #8c959f; }
svg text { font-size: 11px; fill: #57606a; }
svg .bar { fill: #2da44e; }
svg .axis { stroke: #8c959f; stroke-width: 1; }
"""

# Chart geometry, in SVG user units.
_WIDTH, _HEIGHT = 760, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 16, 40
_PLOT_W = _WIDTH - _LEFT - _RIGHT
_PLOT_H = _HEIGHT - _TOP - _BOTTOM
_TICKS = 5


def _clock(date: dt.date, start: dt.datetime | None, minute: int) -> str:
    """Minute ``minute`` of the window as India time; the date too when not ``date``."""
    if start is None:
        return f"+{minute} min"
    at = (start + dt.timedelta(minutes=minute)).astimezone(IST)
    return at.strftime("%H:%M") if at.date() == date else at.strftime("%Y-%m-%d %H:%M")


def _chart(date: dt.date, s: SlaSummary) -> str:
    """Bars of sends per minute on a time axis: a quiet minute is a gap, not a missing bar."""
    if not s.sends_by_minute:
        return '<p class="empty">No message was accepted by the provider.</p>'
    first, last = s.sends_by_minute[0][0], s.sends_by_minute[-1][0]
    span = last - first + 1
    step = _PLOT_W / span
    bar_w = max(step * 0.8, 1.0)
    peak = max(n for _, n in s.sends_by_minute)
    parts = [
        f'<svg class="chart" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" '
        f'aria-label="{_e(f"Messages sent per minute, {peak} at most")}">',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + _PLOT_H}" '
        f'x2="{_LEFT + _PLOT_W}" y2="{_TOP + _PLOT_H}"></line>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + _PLOT_H}"></line>',
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end">{_e(peak)}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + _PLOT_H}" text-anchor="end">0</text>',
    ]
    for minute, n in s.sends_by_minute:
        height = _PLOT_H * n / peak
        x = _LEFT + (minute - first) * step + (step - bar_w) / 2
        label = f"{_clock(date, s.window_start, minute)}: {n} sent"
        parts.append(
            f'<rect class="bar" data-minute="{_e(minute)}" data-count="{_e(n)}" '
            f'x="{x:.2f}" y="{_TOP + _PLOT_H - height:.2f}" '
            f'width="{bar_w:.2f}" height="{height:.2f}"><title>{_e(label)}</title></rect>'
        )
    ticks = sorted({first + round(i * (span - 1) / (_TICKS - 1)) for i in range(_TICKS)})
    for minute in ticks:
        x = _LEFT + (minute - first + 0.5) * step
        parts.append(
            f'<text x="{x:.2f}" y="{_TOP + _PLOT_H + 16}" text-anchor="middle">'
            f"{_e(_clock(date, s.window_start, minute))}</text>"
        )
    parts.append(
        f'<text x="{_LEFT + _PLOT_W / 2:.2f}" y="{_HEIGHT - 6}" text-anchor="middle">'
        "time sent (IST)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


_ZERO = ' class="zero"'


def _table(css_class: str, header: tuple[str, str], rows: list[tuple[str, str, bool]]) -> str:
    body = "\n".join(
        f'<tr{_ZERO if zero else ""}><td>{_e(name)}</td><td class="value">{_e(value)}</td></tr>'
        for name, value, zero in rows
    )
    return (
        f'<table class="{_e(css_class)}">\n'
        f"<thead><tr><th>{_e(header[0])}</th><th>{_e(header[1])}</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )


def render_sla_html(date: dt.date, summary: SlaSummary) -> str:
    """The SLA report of the morning of ``date`` as a complete HTML document."""
    figures = [(name, value, False) for name, value in summary_rows(summary)]
    failures = [(c.value, str(n), n == 0) for c, n in summary.failures_by_class.items()]
    title = f"Morning of {date.isoformat()}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{_e(f'SLA report, {title.lower()}')}</title>",
            f"<style>{_STYLE}</style>",
            "</head>",
            "<body>",
            f"<h1>{_e(title)}</h1>",
            f'<p class="caption">{_e(CAPTION)}</p>',
            _table("figures", ("measure", "value"), figures),
            "<h2>Sends per minute</h2>",
            _chart(date, summary),
            "<h2>Failures by class</h2>",
            _table("failures", ("class", "failed"), failures),
            "</body>",
            "</html>",
            "",
        ]
    )
