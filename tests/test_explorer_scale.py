"""The explorer true to scale, in headless Chromium from the file system: one data unit is the same
number of pixels across and up at a desktop and a phone width and after a zoom, the axes carry ticks,
the affine head's decision regions lie under the points, long class names never widen the page, and
the replay opens on its last frame with every probe point on the canvas."""

from __future__ import annotations

import json

import pytest

from tests.test_browser import browser  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

WIDTHS = [1280, 420]
HOSTILE_NAME = "Pullover-with-an-extraordinarily-long-unbroken-class-name-" * 4


@pytest.fixture(scope="module")
def explorer_url(smoke_site):
    return (smoke_site / "site" / "explorer.html").as_uri()


def open_page(browser, url, width):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, errors


def assert_one_scale(page):
    scale = page.evaluate("window.explorer.scale()")
    assert scale["x"] > 0 and abs(scale["x"] - scale["y"]) <= 0.01 * scale["x"], scale
    # and from the drawn geometry: two test images' screen offsets against their data offsets
    (ax, ay), (bx, by), (sa, sb) = page.evaluate("""() => {
      const p = window.EXPLORER_DATA.points;
      let far = 0, best = 0;
      p.forEach((q, i) => {
        const d = Math.abs(q[0] - p[0][0]) * Math.abs(q[1] - p[0][1]);
        if (d > best) { best = d; far = i; }
      });
      const on = [window.explorer.screenPosition(0), window.explorer.screenPosition(far)];
      return [p[0].slice(0, 2), p[far].slice(0, 2), on];
    }""")
    kx = (sb[0] - sa[0]) / (bx - ax)
    ky = (sa[1] - sb[1]) / (by - ay)
    assert abs(kx - ky) <= 0.01 * kx, (kx, ky)  # data.js rounds to 3 decimals; the pair is far apart
    return scale["x"]


@pytest.mark.parametrize("width", WIDTHS)
def test_one_scale_ticks_and_regions_at_every_width(browser, explorer_url, smoke_site, width, tmp_path):  # noqa: F811
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    page, errors = open_page(browser, explorer_url, width)
    before = assert_one_scale(page)
    ticks = page.evaluate("window.explorer.ticks()")
    assert len(ticks["x"]) >= 2 and len(ticks["y"]) >= 2

    affine = results["bottleneck"]["regions_drawn"]  # a 2-D bottleneck, an affine head
    assert (page.evaluate("window.EXPLORER_DATA.head") is not None) == affine
    # pixels of the scatter with no point within 6 px (the dots are 2-3 px): opaque where regions are drawn
    away = page.evaluate("""() => {
      const canvas = document.getElementById("explorer-scatter"), box = canvas.getBoundingClientRect();
      const dpr = canvas.width / box.width;
      const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      const near = new Set();
      window.EXPLORER_DATA.points.forEach((p, i) => {
        const [x, y] = window.explorer.screenPosition(i);
        near.add(Math.floor((x - box.left) / 6) + "," + Math.floor((y - box.top) / 6));
      });
      const alpha = [];
      for (let gx = 8; gx < box.width / 6 - 1; gx += 3) for (let gy = 1; gy < box.height / 6 - 4; gy += 3) {
        let empty = true;
        for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
          if (near.has((gx + dx) + "," + (gy + dy))) empty = false;
        }
        if (!empty) continue;
        const at = 4 * (Math.round((gy * 6 + 3) * dpr) * canvas.width + Math.round((gx * 6 + 3) * dpr));
        alpha.push(rgba[at + 3]);
      }
      return alpha;
    }""")
    assert len(away) > 20
    if affine:
        assert min(away) == 255
    else:
        assert max(away) == 0

    page.evaluate("""() => {
      const canvas = document.getElementById("explorer-scatter"), box = canvas.getBoundingClientRect();
      for (let i = 0; i < 3; i++) canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: -100, cancelable: true,
        clientX: box.left + box.width * 0.3, clientY: box.top + box.height * 0.6 }));
    }""")
    after = assert_one_scale(page)
    assert after == pytest.approx(before * 1.2 ** 3, rel=1e-6)
    assert len(page.evaluate("window.explorer.ticks()")["x"]) >= 2
    timings = page.evaluate("""() => {
      const out = [];
      for (let i = 0; i < 5; i++) { window.dispatchEvent(new Event("resize")); out.push(window.explorer.lastDrawMs); }
      return out;
    }""")
    print(f"\n{width} px: {before:.1f} px per unit, redraw {min(timings):.1f}-{max(timings):.1f} ms")
    page.screenshot(path=f"/tmp/explorer_{width}.png", full_page=True)
    assert errors == []
    page.close()


def test_long_class_names_never_widen_the_page(browser, explorer_url):  # noqa: F811
    page, errors = open_page(browser, explorer_url, 420)
    page.evaluate("""name => {
      window.EXPLORER_DATA.classNames.forEach((_, c) => { window.EXPLORER_DATA.classNames[c] = name + c; });
      document.querySelectorAll("#explorer-legend .explorer-name").forEach((e, c) => { e.textContent = name + c; });
    }""", HOSTILE_NAME)
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    legend = page.evaluate("document.getElementById('explorer-legend').getBoundingClientRect().right")
    assert width <= 420 and legend <= 420, (width, legend)
    page.screenshot(path="/tmp/explorer_420_long_names.png", full_page=True)
    assert errors == []
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_replay_opens_on_its_last_frame_with_every_probe_point_in_view(browser, explorer_url, width):  # noqa: F811
    page, errors = open_page(browser, explorer_url, width)
    shown = page.evaluate("window.explorer.replay()")
    assert shown["frame"] == shown["frames"] - 1
    inside = [0 <= x <= shown["width"] and 0 <= y <= shown["height"] for x, y in shown["positions"]]
    assert all(inside) and len(inside) > 0
    # the first frame, reached with the slider, is spread over the canvas too, not one dot
    page.evaluate("""() => { const s = document.getElementById("replay-slider"); s.value = "0";
                             s.dispatchEvent(new Event("input")); }""")
    first = page.evaluate("window.explorer.replay()")
    xs = [x for x, _ in first["positions"]]
    ys = [y for _, y in first["positions"]]
    assert first["frame"] == 0
    assert all(0 <= x <= first["width"] for x in xs) and all(0 <= y <= first["height"] for y in ys)
    assert max(max(xs) - min(xs), max(ys) - min(ys)) > 0.15 * min(first["width"], first["height"])
    page.locator("#replay-play").click()  # at frame 0 Play runs on from there
    assert page.locator("#replay-play").inner_text() == "Pause"
    assert errors == []
    page.close()
