"""Write the README's pictures into docs/images/ from a finished run: `make images RUN=runs/fast`.

From `RUN/analysis/`: the GIF of training (frames dropped and shrunk until it fits `--gif-kb`), the
bottleneck map and the data map when there is one (resized, 256 colours). From `RUN/site/`, served
on 127.0.0.1 and shown in headless Chromium: the overview's first screen, the explorer, the
confusion matrix with one cell opened (the most confused pair), the most confident hard
negative's detail and, when the site has it, the Try it page with a trouser drawn by the mouse.
Needs Pillow and Playwright (the `dev` extra) and a Chromium (`tests/install_browser.sh` brings one).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageSequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages
from bench.screenshots import FLAGS, serve  # noqa: E402

HEADER = 48  # height of mkdocs-material's header bar, in CSS pixels


def small_png(image: Image.Image, target: Path, width: int) -> None:
    """Save `image` at most `width` pixels wide as a 256-colour PNG (an octree palette keeps the
    small class-colour dots that a median cut merges into their neighbours)."""
    image = image.convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(target, optimize=True)


def small_gif(source: Path, target: Path, limit_kb: int) -> tuple[int, int]:
    """Copy the GIF, dropping every other frame and shrinking it until it is at most `limit_kb`.

    Each kept frame shows for the time of the frames it stands for, so the whole lasts as long;
    the last frame (the trained model) is always kept. Returns (frames, width) written.
    """
    if source.stat().st_size <= limit_kb * 1024:
        shutil.copyfile(source, target)
        with Image.open(source) as gif:
            return gif.n_frames, gif.width
    with Image.open(source) as gif:
        frames = [(frame.convert("RGB"), frame.info.get("duration", 80)) for frame in ImageSequence.Iterator(gif)]
    step, width = 1, frames[0][0].width
    while True:
        kept = list(range(0, len(frames) - 1, step)) + [len(frames) - 1]
        durations = [sum(d for _, d in frames[i:j]) for i, j in zip(kept, kept[1:] + [len(frames)], strict=True)]
        size = (width, round(frames[0][0].height * width / frames[0][0].width))
        images = [frames[i][0].resize(size, Image.LANCZOS) if size != frames[i][0].size else frames[i][0] for i in kept]
        palette = images[-1].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        images = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in images]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                       optimize=False, disposal=1)
        if buffer.tell() <= limit_kb * 1024 or width <= 240:
            target.write_bytes(buffer.getvalue())
            return len(images), width
        if step < 4:
            step *= 2
        else:
            width = int(width * 0.85)


def most_confused(results: dict) -> tuple[int, int]:
    """(true, predicted) of the largest off-diagonal count of the confusion matrix."""
    counts = results["confusion"]["matrix"]["counts"]
    return max(((t, p) for t in range(len(counts)) for p in range(len(counts)) if t != p),
               key=lambda cell: counts[cell[0]][cell[1]])


def screenshots(site: Path, out: Path, cell: tuple[int, int], hard_negative: int) -> None:
    """The overview's first screen, the explorer from the top of its page, the confusion page
    scrolled to its table with the cell open, and one hard negative's detail opened; all without
    the theme's header bar (HEADER pixels), which only repeats the site name."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    width, height = 1200, 1120
    clip = {"x": 0, "y": HEADER, "width": width, "height": height - HEADER}
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(args=FLAGS, **({"executable_path": executable} if executable else {}))
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        page.goto(base + "index.html", wait_until="networkidle")
        page.wait_for_timeout(300)
        overview = {**clip, "height": 760}
        small_png(Image.open(io.BytesIO(page.screenshot(clip=overview))), out / "overview.png", width)
        page.goto(base + f"hard_negatives.html#test-{hard_negative}", wait_until="networkidle")
        page.wait_for_timeout(500)
        detail = page.locator(f"#test-{hard_negative}").bounding_box()
        small_png(Image.open(io.BytesIO(page.screenshot(clip={"x": detail["x"], "y": detail["y"],
                                                              "width": detail["width"], "height": detail["height"]}))),
                  out / "hard_negative.png", width)
        page.goto(base + "explorer.html", wait_until="networkidle")
        page.wait_for_timeout(500)
        small_png(Image.open(io.BytesIO(page.screenshot(clip=clip))), out / "explorer.png", width)
        page.goto(base + f"confusion.html#cell-{cell[0]}-{cell[1]}", wait_until="networkidle")
        page.wait_for_timeout(500)
        page.evaluate(f"window.scrollTo(0, document.querySelector('table').getBoundingClientRect().top"
                      f" + window.scrollY - {HEADER + 8})")
        page.wait_for_timeout(200)
        small_png(Image.open(io.BytesIO(page.screenshot(clip=clip))), out / "confusion.png", width)
        if (site / "try_it.html").is_file():  # built where onnxruntime-web is installed
            try_it(page, base, out / "try_it.png", width)
        browser.close()


def try_it(page, base: str, target: Path, width: int) -> None:
    """The Try it page with a trouser drawn by the mouse (two legs and a waist), from its drawing
    canvas down to the plane."""
    page.goto(base + "try_it.html", wait_until="networkidle")
    page.wait_for_function("document.getElementById('try-it-page').dataset.state === 'ready'", timeout=120_000)
    canvas = page.locator("#try-draw").bounding_box()
    for x0, y0, x1, y1 in ((0.42, 0.12, 0.36, 0.9), (0.58, 0.12, 0.64, 0.9), (0.4, 0.14, 0.6, 0.14)):
        page.mouse.move(canvas["x"] + x0 * canvas["width"], canvas["y"] + y0 * canvas["height"])
        page.mouse.down()
        page.mouse.move(canvas["x"] + x1 * canvas["width"], canvas["y"] + y1 * canvas["height"], steps=15)
        page.mouse.up()
    page.wait_for_timeout(500)
    top = page.locator("#draw").bounding_box()["y"] - 8
    bottom = page.locator("#try-plane").bounding_box()
    clip = {"x": 0, "y": top, "width": width, "height": bottom["y"] + bottom["height"] + 8 - top}
    small_png(Image.open(io.BytesIO(page.screenshot(clip=clip, full_page=True))), target, width)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/readme_images.py", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/fast"), help="a run folder with analysis/ and site/")
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder to write (default: docs/images)")
    parser.add_argument("--gif-kb", type=int, default=700, help="largest GIF to write, in KB (default: 700)")
    args = parser.parse_args(argv)
    analysis, site = args.run / "analysis", args.run / "site"
    for needed in (analysis / "results.json", analysis / "information_bottleneck.gif", site / "index.html"):
        if not needed.is_file():
            print(f"error: {needed} is missing; build the run first: make all RUN={args.run}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    results = json.loads((analysis / "results.json").read_text())
    frames, width = small_gif(analysis / "information_bottleneck.gif", args.out / "information_bottleneck.gif",
                              args.gif_kb)
    small_png(Image.open(analysis / "bottleneck_map.png"), args.out / "bottleneck_map.png", 900)
    if "data_map" in results["figures"]:
        small_png(Image.open(analysis / results["figures"]["data_map"]), args.out / "data_map.png", 800)
    first_miss = next(item["test_index"] for cls in results["hard_negatives"]["classes"] for item in cls["items"])
    screenshots(site, args.out, most_confused(results), first_miss)
    total = 0
    for name in ("information_bottleneck.gif", "bottleneck_map.png", "overview.png", "explorer.png", "confusion.png",
                 "hard_negative.png", "data_map.png", "try_it.png"):
        if not (args.out / name).is_file():
            continue
        size = (args.out / name).stat().st_size
        total += size
        print(f"  {args.out / name}  {size / 1024:.0f} KB")
    print(f"wrote {args.out} from {args.run} ({total / 1024:.0f} KB; GIF {frames} frames, {width} px wide)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
