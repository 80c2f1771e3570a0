"""The Try it page in headless Chromium, from the file system (file://) and over http: the run's own
model.onnx in onnxruntime-web answers as onnxruntime does in Python, at the explorer's coordinates.

Each answer is read from #try-result's data attributes; the 28 x 28 image the model received from
`window.tryIt.input()`. Python's reference is onnxruntime on the same pixels, through the project's
one batched loop (`fmnist_common.interface.run_batches`), projected as the analysis projects.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from analyzer.cli import main as analyze
from analyzer.metrics import softmax
from fmnist_common.idx import load_test_set
from fmnist_common.interface import run_batches
from site_renderer import try_it
from site_renderer.cli import main as render
from tests.browser_tools import CLEAN, serve, visit
from tests.handmade import FMNIST, linear_pixel_model, write_test_set
from tests.test_browser import browser  # noqa: F401  (fixture)

# without npm (`make install` runs `npm ci` where it is) the site is built without the page
pytestmark = [pytest.mark.browser, pytest.mark.skipif(try_it.runtime_missing() is not None,
                                                      reason="onnxruntime-web is not installed (npm ci)")]

TOLERANCE = 1e-4
READY_MS = 120_000  # the runtime's start under load on a shared 2-core machine


@pytest.fixture(scope="module")
def reference(smoke_site, data_dir):
    """(Python's answer for uint8 images (N, 28, 28) -> (probabilities, points), the test images,
    the explorer's rounded points)."""
    session = ort.InferenceSession(str(smoke_site / "model.onnx"), providers=["CPUExecutionProvider"])
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    plane = results["bottleneck"]["plane"]
    mean, axes = np.array(plane["mean"]), np.array(plane["axes"])

    def answer(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, coords = run_batches(session, images, 64)
        return softmax(logits), (coords - mean) @ axes.T

    data_js = (smoke_site / "site" / "explorer" / "data.js").read_text()
    points = np.array(json.loads(data_js.split("=", 1)[1].rstrip().rstrip(";"))["points"])
    images, _, _ = load_test_set(data_dir)
    return answer, images, points


def open_try_it(browser, url):  # noqa: F811
    """The page once the model answered its first test image; the problems recorder of `visit`."""
    page, problems = visit(browser, url) if url.startswith("http") else open_file(browser, url)
    page.wait_for_function("document.getElementById('try-it-page').dataset.state === 'ready'", timeout=READY_MS)
    wait_answers(page, 1)
    return page, problems


def open_file(browser, url):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = {key: [] for key in CLEAN}
    page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
    page.on("pageerror", lambda e: problems["console"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed"].append(r.url))
    page.goto(url, wait_until="load")
    return page, problems


def answers(page) -> int:
    return int(page.get_attribute("#try-result", "data-answers") or 0)


def wait_answers(page, count: int) -> None:
    page.wait_for_function(f"Number(document.getElementById('try-result').dataset.answers || 0) >= {count}",
                           timeout=30_000)


def result(page) -> dict:
    attrs = page.eval_on_selector("#try-result", "e => Object.assign({}, e.dataset)")
    return {"class": attrs["class"], "probabilities": np.array(json.loads(attrs["probabilities"])),
            "point": np.array([float(attrs["x"]), float(attrs["y"])]), "source": attrs["source"]}


def ask_index(page, index: int) -> dict:
    before = answers(page)
    page.fill("#try-index", str(index))
    wait_answers(page, before + 1)
    return result(page)


def ask_file(page, path) -> dict:
    before = answers(page)
    page.set_input_files("#try-file", str(path))
    wait_answers(page, before + 1)
    return result(page)


@pytest.fixture(params=["file", "http"])
def try_it_page(request, browser, smoke_site):  # noqa: F811
    site = smoke_site / "site"
    if request.param == "file":
        page, problems = open_try_it(browser, (site / "try_it.html").as_uri())
        yield page, problems
    else:
        with serve(site) as base:
            page, problems = open_try_it(browser, base + "try_it.html")
            yield page, problems
    page.close()


def test_twenty_test_images_answer_as_onnxruntime_in_python_at_the_explorers_point(try_it_page, reference):
    page, problems = try_it_page
    answer, images, points = reference
    indices = [int(i) for i in np.random.default_rng(0).choice(1000, 20, replace=False)]
    probabilities, plane = answer(images[indices])
    class_names = json.loads(page.evaluate("JSON.stringify(EXPLORER_DATA.classNames)"))
    for row, index in enumerate(indices):
        got = ask_index(page, index)
        assert got["source"] == f"test:{index}"
        np.testing.assert_allclose(got["probabilities"], probabilities[row], rtol=0, atol=TOLERANCE)
        assert got["class"] == class_names[int(probabilities[row].argmax())]
        np.testing.assert_allclose(got["point"], plane[row], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(got["point"], points[index, :2], rtol=0, atol=5e-4 + TOLERANCE)  # 3 decimals
        assert page.evaluate("tryIt.input()") == images[index].ravel().tolist()
        shown = [int(a.split("=")[1]) for a in page.eval_on_selector_all(".try-neighbour", "e => e.map(a => a.href)")]
        distances = np.hypot(*(points[:, :2] - got["point"]).T)
        distances[index] = np.inf  # an image asked by its index is not its own neighbour
        assert shown == np.argsort(distances, kind="stable")[:5].tolist()
    assert problems == CLEAN


def test_a_png_of_a_test_image_answers_as_picking_it_by_index(try_it_page, reference, tmp_path):
    page, problems = try_it_page
    _, images, _ = reference
    Image.fromarray(images[7], mode="L").save(tmp_path / "seven.png")
    by_index = ask_index(page, 7)
    by_file = ask_file(page, tmp_path / "seven.png")
    assert by_file["source"] == "file"
    assert page.evaluate("tryIt.input()") == images[7].ravel().tolist()
    np.testing.assert_array_equal(by_file["probabilities"], by_index["probabilities"])
    np.testing.assert_array_equal(by_file["point"], by_index["point"])
    assert problems == CLEAN


def test_a_photo_of_a_dark_garment_on_white_is_inverted_centred_and_answered(try_it_page, reference, tmp_path):
    page, problems = try_it_page
    answer, _, _ = reference
    photo = np.full((300, 260, 3), 255, np.uint8)
    photo[40:280, 20:60] = 30  # a trouser's two legs, dark, in the photo's left part
    photo[40:280, 90:130] = 30
    photo[40:80, 20:130] = 30  # its waist
    Image.fromarray(photo).save(tmp_path / "trouser.jpg", quality=95)
    got = ask_file(page, tmp_path / "trouser.jpg")
    pixels = np.array(page.evaluate("tryIt.input()"), np.uint8).reshape(28, 28)
    assert got["source"] == "file"
    assert pixels[0, 0] == pixels[-1, -1] == 0  # the white background became black
    # the 110 x 240 object -> 13 x 28 at columns 7..19: its dark legs light, the gap between them black
    assert pixels[14, 9] > 200 and pixels[14, 17] > 200 and pixels[14, 13] == 0
    assert pixels[:, :7].max() == 0 and pixels[:, 20:].max() == 0
    columns = np.flatnonzero(pixels.max(axis=0) > 0)
    assert (columns[0], 27 - columns[-1]) == (7, 8)  # centred: 15 spare columns, 7 left and 8 right
    probabilities, plane = answer(pixels[None])
    np.testing.assert_allclose(got["probabilities"], probabilities[0], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(got["point"], plane[0], rtol=0, atol=TOLERANCE)
    assert problems == CLEAN


def test_mouse_strokes_change_the_answer(try_it_page, reference):
    page, problems = try_it_page
    answer, _, _ = reference
    first = result(page)
    box = page.locator("#try-draw").bounding_box()
    answers_so_far = []
    for x0, y0, x1, y1 in ((0.35, 0.15, 0.35, 0.85), (0.65, 0.15, 0.65, 0.85)):  # two legs of a trouser
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=12)
        page.mouse.up()
        page.wait_for_timeout(300)  # the last frame's answer
        got = result(page)
        assert got["source"] == "draw"
        pixels = np.array(page.evaluate("tryIt.input()"), np.uint8).reshape(28, 28)
        probabilities, plane = answer(pixels[None])
        np.testing.assert_allclose(got["probabilities"], probabilities[0], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(got["point"], plane[0], rtol=0, atol=TOLERANCE)
        answers_so_far.append(got)
    assert pixels[14, round(0.35 * 28)] > 128 and pixels[14, round(0.65 * 28)] > 128 and pixels[14, 14] == 0
    assert not np.array_equal(answers_so_far[0]["probabilities"], first["probabilities"])
    assert not np.array_equal(answers_so_far[1]["probabilities"], answers_so_far[0]["probabilities"])
    assert problems == CLEAN


def test_the_page_states_its_measured_speed(try_it_page):
    page, problems = try_it_page
    speed = page.eval_on_selector("#try-speed", "e => [e.dataset.startMs, e.dataset.medianMs, e.textContent]")
    assert float(speed[0]) > 0 and float(speed[1]) > 0
    assert f"one image takes {float(speed[1]):.1f} ms (the median over 100 test images" in speed[2]
    assert page.inner_text("#try-status") == ("Ready. Showing test image 0: draw, drop an image or pick another test "
                                              "image.")  # the answer already on the page is test image 0's
    assert result(page)["source"] == "test:0"
    assert problems == CLEAN


def test_an_undecodable_file_is_one_sentence(try_it_page, tmp_path):
    page, problems = try_it_page
    (tmp_path / "broken.png").write_bytes(b"not an image")
    before = answers(page)
    page.set_input_files("#try-file", str(tmp_path / "broken.png"))
    page.wait_for_function("document.getElementById('try-status').textContent.includes('broken.png')")
    assert page.inner_text("#try-status") == ('The file "broken.png" could not be decoded as an image: '
                                              "give a PNG, JPEG or WebP.")
    assert answers(page) == before
    assert problems == CLEAN


@pytest.mark.parametrize(("breakage", "sentence"), [
    ("delete globalThis.WebAssembly;",
     "This browser cannot run WebAssembly, which the model needs: open the page in a recent Chrome, Edge, Firefox "
     "or Safari."),
    ("URL.createObjectURL = () => { throw new Error('blob: URLs are blocked'); };",
     "The model could not start in this browser (blob: URLs are blocked): open the page in a recent Chrome, Edge, "
     "Firefox or Safari, or serve the site over http (python -m http.server) if this browser blocks files opened "
     "from the disk."),
])
def test_a_runtime_that_cannot_start_is_one_sentence(browser, smoke_site, breakage, sentence):  # noqa: F811
    context = browser.new_context()
    context.add_init_script(breakage)
    page = context.new_page()
    page.goto((smoke_site / "site" / "try_it.html").as_uri(), wait_until="load")
    page.wait_for_function("document.getElementById('try-it-page').dataset.state === 'failed'", timeout=READY_MS)
    assert page.inner_text("#try-status") == sentence
    assert page.get_attribute("#try-result", "data-source") == ""
    context.close()


def test_a_three_unit_bottleneck_lands_on_the_explorers_principal_axes(browser, tmp_path):  # noqa: F811
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(10), 3)
    images = rng.integers(0, 256, size=(len(labels), 28, 28)).astype(np.uint8)
    write_test_set(tmp_path / "data", images, labels)
    run = tmp_path / "run"
    run.mkdir()
    onnx.save(linear_pixel_model(rng.normal(size=(3, 10)), rng.normal(size=10), FMNIST), run / "model.onnx")
    assert analyze(["--model", str(run / "model.onnx"), "--data", str(tmp_path / "data"),
                    "--out", str(run / "analysis")]) == 0
    assert render(["--run", str(run)]) == 0
    plane = json.loads((run / "analysis" / "results.json").read_text())["bottleneck"]["plane"]
    assert plane["kind"] == "pca"
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, coords = run_batches(session, images, 30)
    projected = (coords - np.array(plane["mean"])) @ np.array(plane["axes"]).T
    data_js = (run / "site" / "explorer" / "data.js").read_text()
    points = np.array(json.loads(data_js.split("=", 1)[1].rstrip().rstrip(";"))["points"])
    page, problems = open_try_it(browser, (run / "site" / "try_it.html").as_uri())
    for index in (0, 13, 29):
        got = ask_index(page, index)
        np.testing.assert_allclose(got["probabilities"], softmax(logits)[index], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(got["point"], projected[index], rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(got["point"], points[index, :2], rtol=0, atol=5e-4 + TOLERANCE)
    assert problems == CLEAN
    page.close()
