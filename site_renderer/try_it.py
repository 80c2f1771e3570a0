"""The Try it page's files: the run's own model and onnxruntime-web, packed to run from file:// too.

Reads the onnxruntime-web package that `npm ci` (run by `make install` when npm is present) puts in
`node_modules/` beside this repository, `RUN/model.onnx`, `RUN/analysis/results.json` (the plane
every page draws in) and the explorer's thumbnail sheet `RUN/analysis/explorer/sprite.png` (the
test images' exact pixels). Writes `docs/try_it/`: the runtime's classic-script bundle as it ships,
and classic scripts that each assign one value to a `window.TRY_IT_*` global (the runtime's
WebAssembly and the model gzipped and base85-encoded, the runtime's ES-module glue as text, the
page's data). A page opened from the file system may not fetch, so every byte reaches the page
through a <script> element, and `try_it.js` hands the runtime the wasm and the model as bytes.
The model is the analysed file byte for byte: the analyzer loads models from bytes, so a model that
keeps its weights in external data files never reaches a report.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from importlib.resources.abc import Traversable
from pathlib import Path

import numpy as np
from PIL import Image

from fmnist_common.interface import INPUT_NAME, INPUT_RANGES, OUTPUT_NAMES

PACKAGE = Path(__file__).resolve().parent.parent / "node_modules" / "onnxruntime-web"
BUNDLE = "ort.wasm.min.js"  # the wasm-only build as a classic script (UMD), which sets window.ort
GLUE = "ort-wasm-simd-threaded.mjs"  # the ES module that instantiates the wasm; imported from a blob: URL
WASM = "ort-wasm-simd-threaded.wasm"
FOLDER = "try_it"  # under docs/
PAGE_ASSETS = ("try_it.js", "try_it.css")  # from the templates
CARRIED = 1000  # test images 0..CARRIED-1 travel with the page as pixels (the budget: see README)
BUDGET_BYTES = 7_000_000  # what the page's own files may add to the site


def runtime_files() -> dict[str, Path]:
    return {name: PACKAGE / "dist" / name for name in (BUNDLE, GLUE, WASM)}


def runtime_missing() -> str | None:
    """Why the page cannot be built, or None when the runtime is installed."""
    absent = [path for path in runtime_files().values() if not path.is_file()]
    if not absent:
        return None
    checkout = PACKAGE.parent.parent  # beside package.json in a checkout; site-packages in a wheel install
    if (checkout / "package.json").is_file():
        how = f"run \"npm ci\" in {checkout} (\"make install\" does when npm is present), then build the site again"
    else:
        how = ("build the site from a checkout of this project after \"npm ci\" there (\"make install\" does "
               "when npm is present)")
    return f"onnxruntime-web is not installed ({absent[0]} is missing); {how}"


def left_out(run: Path, results: dict) -> str | None:
    """Why RUN gets no Try it page, or None: it needs the runtime and the very model the analysis
    read (its answers must fall on the explorer's points)."""
    model = run / "model.onnx"
    if not model.is_file():
        return "the run folder holds no model.onnx"
    if hashlib.sha256(model.read_bytes()).hexdigest() != results["model"]["sha256"]:
        return f"{model} is not the model the analysis read (its sha256 differs); run the analysis again"
    return runtime_missing()


def runtime_version() -> str:
    return json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]


def packed(data: bytes) -> dict:
    """Bytes as a JSON value a classic script can carry: gzipped (no timestamp, so a rebuild writes
    the same file), then base85 (Python's RFC 1924 alphabet, free of quotes and backslashes): 5
    characters per 4 bytes, against base64's 4 per 3."""
    squeezed = gzip.compress(data, compresslevel=9, mtime=0)
    return {"bytes": len(data), "gzipBytes": len(squeezed), "base85": base64.b85encode(squeezed, pad=True).decode()}


def script(name: str, value: object) -> bytes:
    return f"window.{name} = {json.dumps(value, separators=(',', ':'))};\n".encode()


def carried_images(analysis: Path, tile: int, columns: int, count: int) -> np.ndarray:
    """Test images 0..count-1 (count, 28, 28) uint8, cut from the explorer's lossless sheet."""
    sheet = np.asarray(Image.open(analysis / "explorer" / "sprite.png").convert("L"))
    rows = -(-count // columns)
    tiles = sheet[: rows * tile].reshape(rows, tile, columns, tile).transpose(0, 2, 1, 3)  # (row, col, 28, 28)
    return tiles.reshape(-1, tile, tile)[:count]


def page_data(results: dict, images: np.ndarray) -> dict:
    """What try_it.js needs besides the explorer's data: the interface, the plane, the test pixels."""
    plane = results["bottleneck"]["plane"]
    input_range = results["model"]["metadata"].get("input_range", "0..1")
    return {
        "input": INPUT_NAME,
        "outputs": dict(zip(("logits", "bottleneck"), OUTPUT_NAMES, strict=True)),
        "divisor": INPUT_RANGES[input_range],  # uint8 pixel / divisor = the graph's input
        # (D,) and (2, D); a strip plane (1 unit) puts the drawn image on its predicted class's row
        "projection": {"kind": plane["kind"], "mean": plane["mean"], "axes": plane["axes"],
                       "rowHeight": plane.get("row_height", 0.0)},
        "runtime": f"onnxruntime-web {runtime_version()}",
        "carried": int(len(images)),
        "images": packed(images.tobytes()),
    }


def write(run: Path, analysis: Path, docs: Path, results: dict, templates: Traversable) -> dict:
    """Write docs/try_it/ (with the page's own script and style sheet from the templates) from
    RUN/model.onnx and `analysis` (the build RUN/analysis resolves to); return the sizes the page
    states, in bytes."""
    folder = docs / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name in PAGE_ASSETS:
        (folder / name).write_bytes(templates.joinpath(name).read_bytes())
    files = runtime_files()
    explorer = results["explorer"]
    count = min(CARRIED, explorer["points"])
    images = carried_images(analysis, explorer["tile"], explorer["sprite_columns"], count)
    (folder / BUNDLE).write_bytes(files[BUNDLE].read_bytes())
    (folder / "glue.js").write_bytes(script("TRY_IT_GLUE", files[GLUE].read_text(encoding="utf-8")))
    (folder / "wasm.js").write_bytes(script("TRY_IT_WASM", packed(files[WASM].read_bytes())))
    (folder / "model.js").write_bytes(script("TRY_IT_MODEL", packed((run / "model.onnx").read_bytes())))
    (folder / "data.js").write_bytes(script("TRY_IT_DATA", page_data(results, images)))
    return {"wasm": files[WASM].stat().st_size, "wasm_carried": (folder / "wasm.js").stat().st_size,
            "model": (run / "model.onnx").stat().st_size, "carried": count,
            "total": sum(f.stat().st_size for f in folder.iterdir())}
