from __future__ import annotations

import datetime as dt
import uuid
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import Delivery, summarize
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.failure import FailureClass
from projectone.domain.language import Language
from projectone.domain.sla import SlaSummary
from projectone.entrypoints import sla_html
from projectone.entrypoints.sla_html import render_sla_html, summary_rows

DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})


class Page(HTMLParser):
    """The parts of a report page the tests look at, and any nesting mistake in it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.bars: list[dict[str, str | None]] = []
        self.title = ""
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        if self.open:
            self.errors.append(f"never closed: {self.open}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)
        if tag == "table":
            self._table = found.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "rect" and found.get("class") == "bar":
            self.bars.append(found)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self.open and self.open[-1] == "title" and "svg" not in self.open:
            self.title += data


def _planned(minute: int, advisor: int = 0) -> Delivery:
    return Delivery.plan(
        id=uuid.uuid4(),
        advisor_id=uuid.UUID(int=advisor),
        pack_id=uuid.uuid4(),
        date=DAY,
        send_time=dt.time(6, minute),
        language=Language.EN,
        to="+919876543210",
        content_hash="0" * 64,
        now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )


def _morning() -> list[Delivery]:
    out = []
    for i in range(30):
        d = _planned(i % 7, i).start_sending(NOW - dt.timedelta(days=1))
        at = d.scheduled_for + dt.timedelta(seconds=17 * i)
        if i % 6 == 0:
            d = d.mark_failed(["131026", "content_integrity", "130429", "x"][i // 6 % 4], "", at)
        else:
            d = d.mark_sent("wamid.x", at)
            if i % 3 == 0:
                d = d.apply_report(DeliveryStatus.READ, at + dt.timedelta(minutes=1))
        out.append(d)
    return out


def _check_page(summary: SlaSummary) -> Page:
    text = render_sla_html(DAY, summary)
    page = Page(text)
    assert page.errors == []
    assert text.startswith("<!DOCTYPE html>")
    assert "://" not in text
    # Self-contained: nothing to fetch, nothing to run.
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    assert not [a for a in page.attrs if a[1] in ("src", "href") or a[1].startswith("on")]
    assert "url(" not in text
    assert "@import" not in text
    return page


def test_the_page_shows_every_figure_and_failure_class() -> None:
    summary = summarize(_morning(), NOW)
    page = _check_page(summary)
    assert "2026-03-02" in page.title
    header, *rows = page.tables["figures"]
    assert header == ["measure", "value"]
    assert rows == [list(row) for row in summary_rows(summary)]
    figures = dict(summary_rows(summary))
    assert figures["planned"] == "30"
    assert figures["failed"] == "5"
    assert figures["read (of sent)"] == f"{summary.read} ({summary.read_ratio:.2%})"
    _, *failures = page.tables["failures"]
    assert {row[0]: row[1] for row in failures} == {
        c.value: str(n) for c, n in summary.failures_by_class.items()
    }
    assert summary.failures_by_class[FailureClass.CONTENT_VIOLATION] == 1


def test_the_chart_has_one_bar_per_minute_with_sends() -> None:
    summary = summarize(_morning(), NOW)
    page = _check_page(summary)
    assert [(b["data-minute"], b["data-count"]) for b in page.bars] == [
        (str(m), str(n)) for m, n in summary.sends_by_minute
    ]
    heights = [float(b["height"] or 0) for b in page.bars]
    peak = max(n for _, n in summary.sends_by_minute)
    # The busiest minute is the tallest bar; every bar with sends is visible.
    assert max(heights) == heights[[n for _, n in summary.sends_by_minute].index(peak)]
    assert min(heights) > 0


def test_a_morning_with_no_sends_says_so_instead_of_drawing_an_empty_chart() -> None:
    page = _check_page(summarize([_planned(0)], NOW))
    assert page.bars == []
    assert page.tables["figures"][1] == ["planned", "1"]


@given(
    st.lists(
        st.tuples(st.integers(0, 59), st.integers(0, 6 * 3600), st.booleans()),
        max_size=40,
    )
)
def test_any_morning_renders_a_well_formed_page(
    plan: list[tuple[int, int, bool]],
) -> None:
    morning = []
    for minute, delay, sent in plan:
        d = _planned(minute).start_sending(NOW)
        if sent:
            d = d.mark_sent("wamid.x", d.scheduled_for + dt.timedelta(seconds=delay))
        morning.append(d)
    summary = summarize(morning, NOW)
    page = _check_page(summary)
    assert len(page.bars) == len(summary.sends_by_minute)
    assert sum(int(b["data-count"] or 0) for b in page.bars) == sum(sent for _, _, sent in plan)


def test_every_text_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing in a summary is free text today; the page must not rely on that staying so.
    hostile = '<script>alert("x")</script>&'
    monkeypatch.setattr(sla_html, "summary_rows", lambda s: [(hostile, hostile), *summary_rows(s)])
    page = _check_page(summarize(_morning(), NOW))
    assert page.tables["figures"][1] == [hostile, hostile]
    assert "script" not in page.tags
