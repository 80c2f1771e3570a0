"""A built page read back as data: its tables, links, images, scripts and visible text.

The site tests assert on what the browser gets, not on the Markdown, so a value that Markdown turned
into markup (a link, a table cell, emphasis) shows up here as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Page:
    tables: list[list[list[str]]] = field(default_factory=list)  # table -> row -> cell text
    links: list[str] = field(default_factory=list)  # every href
    sources: list[str] = field(default_factory=list)  # every src (img, script, iframe, ...)
    scripts: list[str] = field(default_factory=list)  # src of each <script>, "" when inline
    inline_scripts: list[str] = field(default_factory=list)  # the code of each inline <script>
    text: str = ""  # visible prose of the article, tags removed and entities decoded; code blocks left out


class Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.cell: list[str] | None = None
        self.in_article = 0
        self.hidden = 0  # inside <script>, <style> or <pre>
        self.in_script = False
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if "href" in values:
            self.page.links.append(values["href"] or "")
        if "src" in values:
            self.page.sources.append(values["src"] or "")
        if tag == "script":
            self.page.scripts.append(values.get("src") or "")
            self.page.inline_scripts.append("")
            self.in_script = True
        if tag in ("script", "style", "pre"):
            self.hidden += 1
        if tag == "article":
            self.in_article += 1
        if tag == "table":
            self.page.tables.append([])
        elif tag == "tr":
            self.page.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "img" and self.cell is not None:
            self.cell.append(f"[img {values.get('alt', '')}]")
        elif tag == "br" and self.in_article:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "pre"):
            self.hidden -= 1
        if tag == "script":
            self.in_script = False
        if tag == "article":
            self.in_article -= 1
        if tag in ("td", "th") and self.cell is not None:
            self.page.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None
        if tag in ("p", "li", "tr", "td", "th", "div", "h1", "h2", "h3") and self.in_article:
            self.chunks.append("\n")

    def handle_data(self, data):
        if self.in_script:
            self.page.inline_scripts[-1] += data
        if self.cell is not None:
            self.cell.append(data)
        if self.in_article and not self.hidden:
            self.chunks.append(data)


def read_page(path: Path) -> Page:
    reader = Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    reader.page.text = "".join(reader.chunks)
    return reader.page
