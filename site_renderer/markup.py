"""Values read from files, written as text into the site's Markdown pages and shell examples.

Class names, metadata and paths come from the model and the run folder, so any of them may hold
Markdown or HTML syntax. `markdown_text` turns a value into text that Markdown and HTML both show
literally; the page templates apply it to every `{{ value }}` (see `analyzer.site.environment`),
and a filter whose output is already safe for its place returns `Markup` to say so (`url`, `shell`).
"""

from __future__ import annotations

import math
import shlex
from urllib.parse import quote

from markupsafe import Markup


class MissingValue(ValueError):
    """A template asked to show a value the run does not have (None, NaN or infinity)."""


PLAIN = frozenset(" ,./:;?@%")  # ASCII punctuation with no meaning inside a line of Markdown


def markdown_text(value: str) -> Markup:
    """`value` as literal text inside a line of Markdown (paragraph, table cell, link or image text).

    Every other ASCII punctuation character, and every non-printable one (a newline could end a
    table row), becomes a numeric character reference: Markdown gives none of them a meaning then
    (no link, image, emphasis, heading, table cell, attribute list or raw HTML can start), and the
    browser shows the original character.
    """
    return Markup("".join(
        f"&#{ord(ch)};" if (ch.isascii() and not ch.isalnum() and ch not in PLAIN) or not ch.isprintable() else ch
        for ch in value
    ))


def finalize(value: object) -> Markup:
    """Every `{{ value }}` of a page: already-safe markup as is, anything else as literal text.

    A missing value is an error, never the word "None" or "nan" on a page.
    """
    if isinstance(value, Markup):
        return value
    if isinstance(value, int | float):
        return Markup(number(value))  # digits, '.', '-', '+', 'e': nothing Markdown reads
    if value is None:
        raise MissingValue("a page template shows a value the run does not have (None)")
    return markdown_text(str(value))


def url(path: str) -> Markup:
    """A relative path as a URL: everything but letters, digits, '/' and '_.-~' percent-encoded.

    No '..' segment is accepted: a link may only lead into the site's own folder.
    """
    if ".." in path.split("/"):
        raise ValueError(f"{path!r} leads out of the site folder")
    return Markup(quote(path, safe="/"))


def shell(value: object) -> Markup:
    """A value as one shell word, for the commands in code blocks (shown literally, so no HTML).

    Control characters (a newline could end the code block) are written as ANSI-C escapes.
    """
    text = str(value)
    if all(ch.isprintable() for ch in text):
        return Markup(shlex.quote(text))
    return Markup("$'" + "".join(
        ch if ch.isprintable() and ch not in "'\\" else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\U{ord(ch):08x}"
        for ch in text
    ) + "'")


def number(value: object) -> int | float:
    """`value` as a finite number; a missing one is an error (see `MissingValue`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MissingValue(f"a page template shows a number the run does not have ({value!r})")
    return value


def plain(value: str) -> str:
    """`value` for a place where the theme writes it into HTML unescaped (mkdocs-material's site name).

    The characters HTML gives a meaning to, and control characters, become '_'.
    """
    return "".join("_" if ch in "<>&\"'" or not ch.isprintable() else ch for ch in value)


def percent(value: float, digits: int = 2) -> Markup:
    return Markup(f"{100 * number(value):.{digits}f}%")


def thousands(value: int) -> Markup:
    """A count with thousands separators: 10,000."""
    return Markup(f"{number(value):,}")


def format_numbers(pattern: Markup | str, *values: object) -> Markup:
    """Jinja's `format` filter (`"%.2f"|format(x)`) for numbers only, refusing None, NaN and infinity.

    The pattern is the template's own text, so the result is markup.
    """
    return Markup(pattern % tuple(number(v) for v in values))


def sentence(value: str) -> str:
    """The first letter in upper case, the rest as it is (`capitalize` would lower class names)."""
    return value[:1].upper() + value[1:]
