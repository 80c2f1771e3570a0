"""README.md is the front door and docs/ the reference: sizes, links, pictures and the journeys.

The README stays small (at most 12,000 bytes), every relative link and image in it and in
docs/*.md names a file of the repository (and a heading, when it names one), the pictures under
docs/images/ stay under 2 MB together, and the README names the two commands and its four
journeys, each with a marked, fenced bash block (tests/test_journeys.py runs the reuse journey,
tests/test_adopt_journey.py the adopt journey).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
JOURNEYS = {
    "report": "### 1. Train and open the report",
    "reuse": "### 2. Reuse a model on a machine without torch",
    "offline": "### 3. Without internet for the data",
    "adopt": "### 4. Bring a model trained elsewhere",
    "sweep": "### 5. Compare many runs",
}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img\s[^>]*src=\"([^\"]+)\"")


def prose(text: str) -> str:
    """The Markdown without fenced blocks and code spans, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """The anchor GitHub and mkdocs give a heading: lower case, punctuation dropped, spaces as '-'."""
    heading = re.sub(r"`", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+\s+(.+)$", prose(page.read_text()), flags=re.M)}


def links(page: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(prose(page.read_text()))]


def journey_block(name: str) -> str:
    """The fenced bash block right after `<!-- journey: NAME -->` in the README."""
    match = re.search(rf"<!-- journey: {name} -->\n```bash\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    assert match, f"README.md has no fenced bash block after <!-- journey: {name} -->"
    return match.group(1)


def test_readme_is_small():
    assert README.stat().st_size <= 12_000, f"README.md is {README.stat().st_size} bytes; move reference to docs/"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_every_relative_link_resolves(page):
    found = links(page)
    assert found or page.name != "README.md"
    for target in found:
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.is_file(), f"{page.name}: {target} names no file"
        assert file.is_relative_to(REPO), f"{page.name}: {target} leaves the repository"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{page.name}: {target} names no heading of {file.name}"


def test_readme_shows_pictures_from_docs_images():
    images = [t for t in links(README) if t.lower().endswith((".png", ".gif", ".jpg", ".svg"))]
    assert len(images) >= 3
    assert all(t.startswith("docs/images/") for t in images), images
    assert any(t.endswith(".gif") for t in images)


def test_pictures_stay_small():
    files = [p for p in (REPO / "docs" / "images").rglob("*") if p.is_file()]
    assert files
    total = sum(p.stat().st_size for p in files)
    assert total <= 2_000_000, f"docs/images holds {total:,} bytes; regenerate smaller with make images"


def test_readme_names_the_two_commands_and_the_journeys():
    text = README.read_text()
    for command in ("make all", "make test"):
        assert f"\n{command} " in text or f"\n{command}\n" in text, command
    for name, heading in JOURNEYS.items():
        assert re.search(rf"^{re.escape(heading)}$", text, flags=re.M), heading
        block = journey_block(name)
        assert block.strip(), name
    assert "make all\n" in journey_block("report")
    assert "FASHION_MNIST_DIR=" in journey_block("offline")
    assert "make sweep SWEEP=width-and-activation" in journey_block("sweep")
    assert "[LICENSE](LICENSE)" in text and "MIT" in (REPO / "LICENSE").read_text()


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in links(README)}
    for page in PAGES[1:]:
        assert page.resolve() in linked, f"README.md does not link {page.relative_to(REPO)}"
