"""The HTML toolkit: formatters, typed table columns, escaping, embedded figures and the page
shell every report shares."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from credit_models.reporting import html as page

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _figure() -> Figure:
    figure = Figure(figsize=(4, 3))
    axes = figure.subplots()
    axes.plot([0, 1, 2], [2, 0, 1])
    axes.set_title("a line")
    return figure


@pytest.mark.parametrize("formatter,value,shown", [
    (page.number(3), 0.12345, "0.123"),
    (page.number(1), 2, "2.0"),
    (page.percent(1), 0.1234, "12.3%"),
    (page.percent(2), 0.5, "50.00%"),
    (page.signed(3), 0.01, "+0.010"),
    (page.signed(2), -0.5, "-0.50"),
    (page.count, 12345, "12,345"),
    (page.amount, 12345.6, "12,346"),
    (page.odds, 12.34, "12.3 : 1"),
    (page.odds, np.inf, "∞"),
    (page.short_percent, 0.075, "7.5%"),
    (page.short_percent, -np.inf, "−∞"),
    (page.month, pd.Timestamp("2024-05-17"), "2024-05"),
    (page.text, "a", "a"),
])
def test_formatters(formatter, value, shown):
    assert formatter(value) == shown


@pytest.mark.parametrize("missing", [None, np.nan, float("nan"), pd.NA])
@pytest.mark.parametrize("formatter", [page.number(), page.percent(), page.signed(), page.count,
                                       page.amount, page.odds, page.text])
def test_every_formatter_shows_a_missing_value_as_a_dash(formatter, missing):
    assert formatter(missing) == page.MISSING


def test_table_formats_aligns_and_escapes_each_column():
    frame = pd.DataFrame({"name": ["<b>", "plain"], "share": [0.25, None],
                          "status": ['<span class="badge ok">ok</span>', "–"]})
    columns = (page.Column("name", "Name & kind", numeric=False),
               page.Column("share", "Share", page.percent(1)),
               page.Column("status", "Status", numeric=False, markup=True))
    table = page.table(frame, columns)
    assert table.startswith("<table><thead><tr>") and table.endswith("</tbody></table>")
    assert '<th class="txt">Name &amp; kind</th><th class="num">Share</th>' in table
    assert '<td class="txt">&lt;b&gt;</td><td class="num">25.0%</td>' in table
    assert '<td class="num">–</td>' in table
    assert '<td class="txt"><span class="badge ok">ok</span></td>' in table   # markup kept
    assert table.count("<tr>") == 3
    assert page.table(frame, columns, scroll=True) == f'<div class="scroll">{table}</div>'


def test_figure_png_is_one_png_at_the_resolution_asked():
    figure = _figure()
    standard = page.figure_png(figure)
    double = page.figure_png(figure, dpi=200)
    assert standard.startswith(PNG_MAGIC) and double.startswith(PNG_MAGIC)
    assert Image.open(io.BytesIO(standard)).size == (400, 300)
    assert Image.open(io.BytesIO(double)).size == (800, 600)
    cropped = Image.open(io.BytesIO(page.figure_png(figure, tight=True))).size
    assert cropped[0] < 400 and cropped[1] <= 300              # the white margin is cut
    assert page.figure_png(figure) == standard                  # same figure, same bytes


def test_figure_embeds_the_png_with_alt_text_and_caption():
    figure = _figure()
    shown = page.figure(figure, 'a "line"', "Read <this> first.")
    source = re.search(r'src="data:image/png;base64,([^"]+)"', shown).group(1)
    assert base64.b64decode(source) == page.figure_png(figure)
    assert 'alt="a &quot;line&quot;"' in shown
    assert "<figcaption>Read &lt;this&gt; first.</figcaption>" in shown


def test_text_blocks_escape_their_text():
    assert page.how("a < b") == '<p class="how">a &lt; b</p>'
    assert page.note("x & y") == '<p class="note">x &amp; y</p>'
    assert page.headline("3 > 2") == '<p class="headline">3 &gt; 2</p>'
    assert page.fact_list(["<i>", "b"]) == '<ul class="facts"><li>&lt;i&gt;</li><li>b</li></ul>'
    assert page.badge("alert") == '<span class="badge alert">alert</span>'
    assert page.section("s", "A & B", "<p>x</p>") == (
        '<section id="s"><h2>A &amp; B</h2><p>x</p></section>')
    assert page.pair("a", "b") == '<div class="pair">ab</div>'
    assert page.single("a") == '<div class="single">a</div>'


def test_header_lists_one_line_per_item_and_leaves_out_an_empty_subtitle():
    header = page.page_header("Report <1>", "", [("Periods", ["dev", "oot"]), ("Run", "r&1")])
    assert header.startswith("<header><h1>Report &lt;1&gt;</h1><table class=\"meta\">")
    assert "<tr><th>Periods</th><td>dev<br>oot</td></tr>" in header
    assert "<tr><th>Run</th><td>r&amp;1</td></tr>" in header
    assert '<p class="subtitle">Sub</p>' in page.page_header("R", "Sub", [])


def test_document_is_self_contained():
    document = page.document("A <report>", page.contents([("one", "First")]) + page.footer("end"),
                             css=page.CHECK_CSS)
    assert document.startswith("<!DOCTYPE html>\n") and document.endswith("</html>\n")
    assert "<title>A &lt;report&gt;</title>" in document
    assert f"<style>{page.CSS}{page.CHECK_CSS}</style>" in document
    assert '<nav><h2>Contents</h2><ol><li><a href="#one">First</a></li></ol></nav>' in document
    assert "<script" not in document and "<link" not in document and "http" not in document
