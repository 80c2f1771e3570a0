"""Full-page screenshots of every page of the test session's site, kept in RUN/screenshots/.

bench/screenshots.py (`make screenshots RUN=...`) takes them: each page at 1280 px light, 1280 px
dark and 420 px light, named `<page>-<mode>.png`. The test takes them of the smoke run's site, so a
test run leaves them for a person to look at, and checks that each is a real picture of its page.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench import screenshots
from tests.browser_tools import chromium, serve

pytestmark = pytest.mark.browser

PAGES = {"index", "bottleneck", "explorer", "information_plane", "confusion", "hard_negatives", "calibration",
         "model"}


def luminance(path) -> float:
    """Mean luminance (0..255) of the first screen (1280 x 900 at most) of a screenshot."""
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB").crop((0, 0, image.width, min(image.height, 900))), dtype=float)
    return float((rgb @ [0.2126, 0.7152, 0.0722]).mean())


def test_every_page_is_kept_light_dark_and_narrow(smoke_site):
    site, out = smoke_site / "site", smoke_site / "screenshots"
    names = screenshots.site_pages(site)
    assert PAGES <= set(names)
    with chromium() as browser, serve(site) as base:
        written = screenshots.take(browser, base, out, names)
    assert sorted(written) == sorted(out / f"{name}-{mode}.png" for name in names for mode in screenshots.MODES)
    for name in names:
        for mode, (width, _) in screenshots.MODES.items():
            path = out / f"{name}-{mode}.png"
            with Image.open(path) as image:
                assert image.width == width, path  # nothing wider than the screen
                assert image.height >= 600, path  # the whole page, not one screen of a blank
                assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 50, path
            assert path.stat().st_size > 20_000, path
        light, dark = luminance(out / f"{name}-light-1280.png"), luminance(out / f"{name}-dark-1280.png")
        assert light > 150 and dark < light - 60, (name, light, dark)  # the dark scheme did apply
