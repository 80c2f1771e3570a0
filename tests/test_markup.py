"""Values from files become literal text: Markdown, HTML, URLs and shell words cannot be injected."""

from __future__ import annotations

import html
import math
import re
import subprocess

import markdown
import pytest

from site_renderer import markup
from site_renderer import render as site

HOSTILE = [
    "[click](javascript:alert(1))",
    "![x](http://example.com/x.png)",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "x|y",
    "a]b[c",
    "{{ 7*7 }} {% raw %}",
    "*star* _under_ `tick` ~~s~~",
    "# heading",
    "--- line",
    "$\\undefinedcmd$ 100% #1 ?q=a b",
    "&amp; &lt;",
    "back\\slash {: .attr}",
    "new\nline\r\tand\x00nul",
    "Ünïcödé 服 👕",
]
EXTENSIONS = ["tables", "admonition", "attr_list", "md_in_html", "toc"]


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_renders_as_the_same_text(value):
    rendered = markdown.markdown(f"| a |\n|---|\n| {markup.markdown_text(value)} |", extensions=EXTENSIONS)
    cell = re.fullmatch(r"<table>\s*<thead>\s*<tr>\s*<th>a</th>\s*</tr>\s*</thead>\s*<tbody>\s*<tr>\s*<td>(.*)</td>"
                        r"\s*</tr>\s*</tbody>\s*</table>", rendered, flags=re.S)
    assert cell, rendered  # still one row of one cell
    assert "<" not in cell[1] and ">" not in cell[1]  # no element of any kind
    assert html.unescape(cell[1]) == value.replace("\x00", "\ufffd")


def test_page_values_are_escaped_and_numbers_kept(tmp_path):
    page = "{{ name }} {{ 0.25|percent }} {{ 12345|thousands }} {{ n }} {{ '%.2e'|format(x) }}"
    (tmp_path / "page.md.j2").write_text(page)
    text = site.environment(tmp_path).get_template("page.md.j2").render(name="<b>&_", n=3, x=1.5e-5)
    assert text == "&#60;b&#62;&#38;&#95; 25.00% 12,345 3 1.50e-05"


@pytest.mark.parametrize("template", ["{{ value }}", "{{ value|percent }}", "{{ '%.2f'|format(value) }}",
                                      "{{ value|thousands }}"])
@pytest.mark.parametrize("value", [None, math.nan, math.inf])
def test_a_missing_value_is_an_error_not_text(tmp_path, template, value):
    (tmp_path / "page.md.j2").write_text(template)
    with pytest.raises(markup.MissingValue):
        site.environment(tmp_path).get_template("page.md.j2").render(value=value)


@pytest.mark.parametrize(("path", "expected"), [
    ("hard_neg/Ankle boot/hard_neg_1(Sneaker).png", "hard_neg/Ankle%20boot/hard_neg_1%28Sneaker%29.png"),
    ("hard_neg/100% #1 ?q/x.png", "hard_neg/100%25%20%231%20%3Fq/x.png"),
    ("hard_neg/[a](b)/{x}.png", "hard_neg/%5Ba%5D%28b%29/%7Bx%7D.png"),
    ("hard_neg/服.png", "hard_neg/%E6%9C%8D.png"),
])
def test_url_encoding(path, expected):
    assert markup.url(path) == expected


def test_url_refuses_to_leave_the_site():
    with pytest.raises(ValueError, match="leads out of the site folder"):
        markup.url("hard_neg/../../etc/passwd")


@pytest.mark.parametrize("value", ["runs/default", "it's a run", "$(rm -rf x)`y`", "new\nline\x07", "服 \u2028"])
def test_shell_words_reach_the_shell_unchanged(value):
    word = markup.shell(value)
    assert "\n" not in word
    done = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True, check=True)
    assert done.stdout == value


def test_sentence_keeps_the_rest_of_the_text():
    assert markup.sentence("only 2 of T-shirt/top's test images") == "Only 2 of T-shirt/top's test images"
