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
      const area = window.explorer.plotArea();  // the axes' bands are never tinted
      for (let gx = Math.ceil(area.left / 6) + 1; gx < box.width / 6 - 1; gx += 3)
      for (let gy = 1; gy < area.bottom / 6 - 1; gy += 3) {
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


def css_rgb(hex_colour: str) -> str:
    """#1f77b4 as the browser's computed style writes it: rgb(31, 119, 180)."""
    return "rgb({}, {}, {})".format(*(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)))


REGIONS_CHECK = """() => {
  const canvas = document.getElementById("explorer-scatter"), box = canvas.getBoundingClientRect();
  const dpr = canvas.width / box.width, area = window.explorer.plotArea(), theme = window.explorer.theme();
  const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const head = window.EXPLORER_DATA.head;
  const predicted = (cssX, cssY) => {
    const [x, y] = window.explorer.dataAt(cssX, cssY);
    let best = 0, top = -Infinity;
    head.bias.forEach((b, k) => {
      const logit = head.weight[k][0] * x + head.weight[k][1] * y + b;
      if (logit > top) { top = logit; best = k; }
    });
    return best;
  };
  const near = new Set();  // 6-px cells holding a point
  window.EXPLORER_DATA.points.forEach((p, i) => {
    const [x, y] = window.explorer.screenPosition(i);
    near.add(Math.floor((x - box.left) / 6) + "," + Math.floor((y - box.top) / 6));
  });
  const crowded = (x, y) => {
    const gx = Math.floor(x / 6), gy = Math.floor(y / 6);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) {
      if (near.has((gx + dx) + "," + (gy + dy))) return true;
    }
    return false;
  };
  let checked = 0, edges = 0;
  const wrong = [];
  // 6 CSS pixels in from the axes' lines, whose ticks point into the plot
  for (let r = 2; r < (area.bottom - 6) * dpr; r += 3)
  for (let c = Math.ceil((area.left + 6) * dpr); c < canvas.width - 2; c += 3) {
    const x = (c + 0.5) / dpr, y = (r + 0.5) / dpr;
    if (crowded(x, y)) continue;
    const k = predicted(x, y), step = 1.5 / dpr;  // a device pixel and a half away, the same class: not on an edge
    if ([[step, 0], [-step, 0], [0, step], [0, -step]].some(([dx, dy]) => predicted(x + dx, y + dy) !== k)) {
      edges++;
      continue;
    }
    const at = 4 * (r * canvas.width + c), tint = theme.tints[k];
    checked++;
    if (rgba[at] !== tint[0] || rgba[at + 1] !== tint[1] || rgba[at + 2] !== tint[2] || rgba[at + 3] !== 255) {
      wrong.push([c, r, k, Array.from(rgba.slice(at, at + 4))]);
    }
  }
  // the corner between the axes' bands: background only, never a region's tint
  const corner = new Set();
  for (let r = Math.ceil((area.bottom + 1.5) * dpr); r < canvas.height; r++)  // clear of the axes' lines
  for (let c = 0; c < (area.left - 1.5) * dpr; c++) {
    const at = 4 * (r * canvas.width + c);
    corner.add([rgba[at], rgba[at + 1], rgba[at + 2], rgba[at + 3]].join());
  }
  return { checked, wrong, edges, corner: Array.from(corner), bg: theme.bg };
}"""


@pytest.mark.parametrize("scale", [1, 2])
def test_regions_are_drawn_pixel_for_pixel_inside_the_plot_only(browser, explorer_url, smoke_site, scale):  # noqa: F811
    """Every device pixel of the plot area away from the points and from a region's edge has the tint of
    the class the head predicts at its centre; the axes' corner keeps the page's background."""
    if not json.loads((smoke_site / "analysis" / "results.json").read_text())["bottleneck"]["regions_drawn"]:
        pytest.skip("the smoke model's head draws no regions")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=scale)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(explorer_url, wait_until="load")
    found = page.evaluate(REGIONS_CHECK)
    assert found["checked"] > 5_000 and found["edges"] > 0
    assert found["wrong"] == [], found["wrong"][:10]
    bg = found["bg"][found["bg"].index("(") + 1:found["bg"].rindex(",")].replace(" ", "")
    assert found["corner"] == [bg + ",191"]  # the band: the background at 75% (of 255), nothing under it
    assert errors == []
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_both_canvases_name_their_axes_and_the_replay_has_a_legend(browser, explorer_url, smoke_site, width):  # noqa: F811
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    assert results["bottleneck"]["axis_labels"] == ["bottleneck unit 1", "bottleneck unit 2"]
    page, errors = open_page(browser, explorer_url, width)
    titles = page.evaluate("(e => [e.dataset.xTitle, e.dataset.yTitle])(document.getElementById('explorer'))")
    assert titles == results["bottleneck"]["axis_labels"]
    # text-coloured pixels where each title is drawn: centred under the x labels, left of the y labels
    inked = page.evaluate("""() => ["explorer-scatter", "explorer-replay"].map(id => {
      const canvas = document.getElementById(id), box = canvas.getBoundingClientRect(), dpr = canvas.width / box.width;
      const ctx = canvas.getContext("2d"), area = window.explorer.plotArea();
      const dark = (x, y, w, h) => { const d = ctx.getImageData(x * dpr, y * dpr, w * dpr, h * dpr).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] + d[i + 1] + d[i + 2] < 300) n++; return n; };
      const middle = (area.left + box.width) / 2;
      return [dark(middle - 40, box.height - 13, 80, 12), dark(1, area.bottom / 2 - 40, 12, 80),
              dark(1, 2, 12, 20)];  // the last: the top of the y band, where no title is
    })""")
    for x_title, y_title, empty in inked:
        assert x_title > 30 and y_title > 30 and empty == 0, inked
    legend = page.evaluate("""() => [...document.querySelectorAll("#replay-legend .explorer-key")].map(e =>
      [e.textContent, getComputedStyle(e.querySelector(".explorer-swatch")).backgroundColor])""")
    labels = sorted(set(page.evaluate("window.EXPLORER_DATA.replay.labels")))
    colours = page.evaluate("window.EXPLORER_DATA.colours")
    assert legend == [[results["class_names"][c], css_rgb(colours[c])] for c in labels]
    assert page.evaluate("document.getElementById('replay-legend').getBoundingClientRect().right") <= width
    assert errors == []
    page.close()
