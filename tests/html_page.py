"""Reading the toolkit's HTML reports in tests: a section's HTML and a table's cells as text."""

from __future__ import annotations

import html
import re


def section_html(page: str, key: str) -> str:
    """The inside of ``<section id="key">``; fails the test when the page has no such section."""
    section = re.search(rf'<section id="{key}">(.*?)</section>', page, re.DOTALL)
    assert section is not None, key
    return section.group(1)


def table_rows(fragment: str) -> list[list[str]]:
    """The cells of every body row of the first table in ``fragment``, as text."""
    body = re.search(r"<tbody>(.*?)</tbody>", fragment, re.DOTALL)
    assert body is not None
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
         for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1))
    ]
