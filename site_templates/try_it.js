// Try it: the report's own model.onnx answers in the page, with onnxruntime-web (wasm, one thread).
// Classic scripts only, no fetch: a page opened from the file system may load neither ES modules nor
// files. The renderer packs the wasm, the model and the carried test images into window.TRY_IT_*
// (gzipped, base85); this script unpacks them, imports the runtime's glue module from a blob: URL
// and hands the runtime the wasm and the model as bytes. Reads window.EXPLORER_DATA for the plane.
// The answer is written into #try-result's data attributes, which the browser tests read.
(function () {
  "use strict";
  const root = document.getElementById("try-it-page");
  const status = document.getElementById("try-status");
  const result = document.getElementById("try-result");
  const data = window.TRY_IT_DATA, explorer = window.EXPLORER_DATA;
  const SIDE = 28, PIXELS = SIDE * SIDE;
  const api = { answers: 0 };
  window.tryIt = api;

  // One sentence in place of the page's answer; the reader is never left with a blank page.
  function fail(sentence) {
    status.textContent = sentence;
    status.classList.add("try-failed");
    root.dataset.state = "failed";
  }
  function note(sentence) { status.textContent = sentence; status.classList.remove("try-failed"); }

  // ---- bytes from the page's scripts --------------------------------------------------------
  const B85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
  const B85_VALUE = new Uint8Array(128);
  for (let i = 0; i < B85.length; i++) B85_VALUE[B85.charCodeAt(i)] = i;

  // {bytes, gzipBytes, base85} (site_renderer/try_it.py `packed`) -> Promise of the Uint8Array
  function unpack(blob) {
    const text = blob.base85, squeezed = new Uint8Array(text.length / 5 * 4);
    for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
      let v = 0;  // 5 digits of base 85, big-endian: one 32-bit word
      for (let j = 0; j < 5; j++) v = v * 85 + B85_VALUE[text.charCodeAt(i + j)];
      squeezed[o] = v >>> 24; squeezed[o + 1] = (v >>> 16) & 255; squeezed[o + 2] = (v >>> 8) & 255; squeezed[o + 3] = v & 255;
    }
    const stream = new Blob([squeezed.subarray(0, blob.gzipBytes)]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      if (buffer.byteLength !== blob.bytes) throw new Error("a packed file of the page is damaged");
      return new Uint8Array(buffer);
    });
  }

  // ---- the model --------------------------------------------------------------------------
  let session = null, testPixels = null;

  // uint8 pixels (784) -> {probabilities (C), point [x, y] in the explorer's plane}
  async function infer(pixels) {
    const input = new Float32Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) input[i] = pixels[i] / data.divisor;
    const feeds = {};
    feeds[data.input] = new ort.Tensor("float32", input, [1, 1, SIDE, SIDE]);
    const out = await session.run(feeds);
    const logits = Array.from(out[data.outputs.logits].data, Number);
    const z = Array.from(out[data.outputs.bottleneck].data, Number);  // (D,) bottleneck
    const top = Math.max.apply(null, logits);
    const e = logits.map(function (l) { return Math.exp(l - top); });
    const sum = e.reduce(function (a, b) { return a + b; }, 0);
    const p = data.projection;  // x = (z - mean) @ axes.T, as analyzer.bottleneck.Projection
    const point = p.axes.map(function (axis) {
      return axis.reduce(function (acc, a, j) { return acc + (z[j] - p.mean[j]) * a; }, 0);
    });
    if (p.kind === "strip") point[1] = logits.indexOf(top) * p.rowHeight;  // 1 unit: the predicted class's row
    return { probabilities: e.map(function (v) { return v / sum; }), point: point };
  }

  // One run at a time (a session runs one call at once); while it runs, only the newest request waits.
  let busy = false, pending = null;
  function ask(pixels, source) {
    pending = { pixels: pixels, source: source };
    if (!busy) drain();
  }
  async function drain() {
    busy = true;
    while (pending) {
      const job = pending;
      pending = null;
      try {
        show(job, await infer(job.pixels));
      } catch (error) {
        fail("The model could not answer (" + error.message + "); reload the page.");
      }
    }
    busy = false;
  }

  // ---- the answer ---------------------------------------------------------------------------
  const inputCanvas = document.getElementById("try-input");
  const bars = document.getElementById("try-bars");
  const where = document.getElementById("try-where");
  const neighboursBox = document.getElementById("try-neighbours");
  let last = null;  // {pixels, source, probabilities, point, neighbours}

  function pct(value) { return (100 * value).toFixed(1) + "%"; }

  function showInput(pixels) {
    const ctx = inputCanvas.getContext("2d"), image = ctx.createImageData(SIDE, SIDE);
    for (let i = 0; i < PIXELS; i++) {
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = pixels[i];
      image.data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  function showBars(probabilities) {
    const order = probabilities.map(function (_, c) { return c; })
      .sort(function (a, b) { return probabilities[b] - probabilities[a]; }).slice(0, 3);
    bars.textContent = "";
    order.forEach(function (c) {
      const row = document.createElement("div");
      row.className = "try-bar";
      const name = document.createElement("span");
      name.className = "try-bar-name";
      name.textContent = explorer.classNames[c];
      const track = document.createElement("span");
      track.className = "try-bar-track";
      const fill = document.createElement("span");
      fill.className = "try-bar-fill";
      fill.style.width = pct(probabilities[c]);
      fill.style.background = explorer.colours[c];
      track.appendChild(fill);
      const value = document.createElement("span");
      value.className = "try-bar-value";
      value.textContent = pct(probabilities[c]);
      row.append(name, track, value);
      bars.appendChild(row);
    });
  }

  // The five test points nearest to `point` in the plane, nearest first; a test image asked by its
  // index (`source` "test:N") is not its own neighbour.
  function nearestTests(point, count, source) {
    const best = [];
    const itself = source.startsWith("test:") ? Number(source.slice(5)) : -1;
    explorer.points.forEach(function (p, i) {
      if (i === itself) return;
      const d = Math.hypot(p[0] - point[0], p[1] - point[1]);
      if (best.length < count || d < best[best.length - 1].d) {
        best.push({ i: i, d: d });
        best.sort(function (a, b) { return a.d - b.d; });
        if (best.length > count) best.pop();
      }
    });
    return best;
  }

  const sprite = new Image();
  sprite.src = root.dataset.sprite;
  function drawThumbnail(canvas, index) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const col = index % explorer.spriteColumns, row = Math.floor(index / explorer.spriteColumns);
    ctx.drawImage(sprite, col * explorer.tile, row * explorer.tile, explorer.tile, explorer.tile, 0, 0,
                  canvas.width, canvas.height);
  }

  function showNeighbours(neighbours) {
    neighboursBox.textContent = "";
    const title = document.createElement("p");
    title.className = "try-note";
    title.textContent = "Its five nearest test images in the plane (each opens in the explorer):";
    neighboursBox.appendChild(title);
    neighbours.forEach(function (n) {
      const p = explorer.points[n.i];
      const link = document.createElement("a");
      link.className = "try-neighbour";
      link.href = "explorer.html#pin=" + n.i;
      link.title = "test image " + n.i + " · true: " + explorer.classNames[p[2]] + " · predicted: " +
        explorer.classNames[p[3]] + " · distance " + n.d.toFixed(3);
      const thumb = document.createElement("canvas");
      thumb.width = thumb.height = 56;
      if (sprite.complete && sprite.naturalWidth) drawThumbnail(thumb, n.i);
      const text = document.createElement("span");
      text.textContent = "#" + n.i + " " + explorer.classNames[p[2]] + (p[2] === p[3] ? "" : " (as " + explorer.classNames[p[3]] + ")");
      link.append(thumb, text);
      neighboursBox.appendChild(link);
    });
  }

  function show(job, answer) {
    const probabilities = answer.probabilities, point = answer.point;
    let best = 0;
    probabilities.forEach(function (v, c) { if (v > probabilities[best]) best = c; });
    last = { pixels: job.pixels, source: job.source, probabilities: probabilities, point: point,
             neighbours: nearestTests(point, 5, job.source) };
    result.dataset.class = explorer.classNames[best];
    result.dataset.probabilities = JSON.stringify(probabilities);
    result.dataset.x = String(point[0]);
    result.dataset.y = String(point[1]);
    result.dataset.source = job.source;
    api.answers += 1;
    result.dataset.answers = String(api.answers);
    showInput(job.pixels);
    showBars(probabilities);
    showNeighbours(last.neighbours);
    where.textContent = (data.projection.kind === "strip" ? "Its value: " + point[0].toFixed(3) + " on the unit, on the row of its predicted class,"
      : "Its point: (" + point[0].toFixed(3) + ", " + point[1].toFixed(3) + ")") + " in the plane of the explorer" +
      (insideHome(point) ? "." : ", outside the box of the test points (the view widens to show it).");
    drawPlane();
  }
  api.input = function () { return last ? Array.from(last.pixels) : null; };

  // ---- the plane: the explorer's points and decision regions, at one scale on both axes --------
  const plane = document.getElementById("try-plane");
  const home = { x0: explorer.limits[0][0], x1: explorer.limits[0][1], y0: explorer.limits[1][0], y1: explorer.limits[1][1] };
  function insideHome(point) {
    return point[0] >= home.x0 && point[0] <= home.x1 && point[1] >= home.y0 && point[1] <= home.y1;
  }

  const probe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  probe.canvas.width = probe.canvas.height = 1;
  function rgbOf(colour) {
    probe.clearRect(0, 0, 1, 1);
    probe.fillStyle = "#fff"; probe.fillRect(0, 0, 1, 1);
    probe.fillStyle = colour; probe.fillRect(0, 0, 1, 1);
    return Array.from(probe.getImageData(0, 0, 1, 1).data.slice(0, 3));
  }
  // the pale region tints of the explorer: each class colour mixed into the page's background
  function readTheme() {
    const style = getComputedStyle(document.body);
    const bg = rgbOf(style.getPropertyValue("--md-default-bg-color").trim() || "#fff");
    const dark = bg[0] + bg[1] + bg[2] < 3 * 128, weight = dark ? 0.30 : 0.22;
    return {
      text: style.getPropertyValue("--md-default-fg-color").trim() || "#222",
      tints: explorer.colours.map(function (hex) {
        return [1, 3, 5].map(function (at, j) { return Math.round(bg[j] + weight * (parseInt(hex.slice(at, at + 2), 16) - bg[j])); });
      }),
    };
  }
  let theme = readTheme();

  function tickValues(lo, hi, count) {
    const raw = (hi - lo) / count, unit = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / unit;
    const step = unit * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
    const values = [];
    for (let i = Math.ceil(lo / step); i * step <= hi; i++) values.push(i * step);
    return { values: values, digits: Math.max(0, -Math.floor(Math.log10(step))) };
  }

  function drawPlane() {
    const box = plane.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    plane.width = Math.round(box.width * dpr); plane.height = Math.round(box.height * dpr);
    const ctx = plane.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const width = box.width, height = box.height, pad = 6, band = 16;
    const view = Object.assign({}, home);
    if (last) {  // widen the view to hold the answer's point
      view.x0 = Math.min(view.x0, last.point[0]); view.x1 = Math.max(view.x1, last.point[0]);
      view.y0 = Math.min(view.y0, last.point[1]); view.y1 = Math.max(view.y1, last.point[1]);
    }
    const plotW = width - band - 2 * pad, plotH = height - band - 2 * pad;
    const k = Math.min(plotW / (view.x1 - view.x0), plotH / (view.y1 - view.y0));
    const cx = (view.x0 + view.x1) / 2, cy = (view.y0 + view.y1) / 2, mx = band + pad + plotW / 2, my = pad + plotH / 2;
    const sx = function (x) { return mx + (x - cx) * k; }, sy = function (y) { return my - (y - cy) * k; };
    ctx.clearRect(0, 0, width, height);
    if (explorer.head) {  // argmax of W z + b per 4-pixel block, the explorer's regions
      const block = 4, cols = Math.ceil(width / block), rows = Math.ceil(height / block);
      const image = ctx.createImageData(cols, rows), w = explorer.head.weight, b = explorer.head.bias;
      for (let r = 0; r < rows; r++) {
        const y = cy - ((r + 0.5) * block - my) / k;
        for (let c = 0; c < cols; c++) {
          const x = cx + ((c + 0.5) * block - mx) / k;
          let best = 0, bestLogit = -Infinity;
          for (let j = 0; j < b.length; j++) {
            const logit = w[j][0] * x + w[j][1] * y + b[j];
            if (logit > bestLogit) { bestLogit = logit; best = j; }
          }
          const at = 4 * (r * cols + c), tint = theme.tints[best];
          image.data[at] = tint[0]; image.data[at + 1] = tint[1]; image.data[at + 2] = tint[2]; image.data[at + 3] = 255;
        }
      }
      const layer = document.createElement("canvas");
      layer.width = cols; layer.height = rows;
      layer.getContext("2d").putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(layer, 0, 0, cols * block, rows * block);
    }
    ctx.globalAlpha = 0.55;
    explorer.points.forEach(function (p) {
      ctx.fillStyle = explorer.colours[p[2]];
      ctx.fillRect(sx(p[0]) - 1, sy(p[1]) - 1, 2, 2);
    });
    ctx.globalAlpha = 1;
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = theme.text; ctx.strokeStyle = theme.text; ctx.lineWidth = 1;
    const xs = tickValues(cx - (mx - band) / k, cx + (width - mx) / k, Math.max(2, width / 90));
    const ys = tickValues(cy - (height - band - my) / k, cy + my / k, Math.max(2, height / 70));
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    xs.values.forEach(function (v) { if (sx(v) > band + 8) ctx.fillText(v.toFixed(xs.digits).replace("-", "\u2212"), sx(v), height - 1); });
    ctx.textAlign = "left"; ctx.textBaseline = "middle";
    if (explorer.yTicks !== false) ys.values.forEach(function (v) { if (sy(v) < height - band - 6 && sy(v) > 6) ctx.fillText(v.toFixed(ys.digits).replace("-", "\u2212"), 1, sy(v)); });
    if (!last) return;
    last.neighbours.forEach(function (n) {
      const p = explorer.points[n.i];
      ctx.beginPath(); ctx.arc(sx(p[0]), sy(p[1]), 4, 0, 2 * Math.PI); ctx.stroke();
    });
    const x = sx(last.point[0]), y = sy(last.point[1]);
    let best = 0;
    last.probabilities.forEach(function (v, c) { if (v > last.probabilities[best]) best = c; });
    ctx.beginPath(); ctx.arc(x, y, 8, 0, 2 * Math.PI);
    ctx.fillStyle = explorer.colours[best]; ctx.fill();
    ctx.lineWidth = 2.5; ctx.strokeStyle = theme.text; ctx.stroke();
    ctx.beginPath(); ctx.moveTo(x - 14, y); ctx.lineTo(x - 9, y); ctx.moveTo(x + 9, y); ctx.lineTo(x + 14, y);
    ctx.moveTo(x, y - 14); ctx.lineTo(x, y - 9); ctx.moveTo(x, y + 9); ctx.lineTo(x, y + 14); ctx.stroke();
  }

  // ---- drawing: a soft round brush on a large canvas, averaged down to 28 x 28 --------------------
  const draw = document.getElementById("try-draw");
  const drawCtx = draw.getContext("2d", { willReadFrequently: true });
  const CELL = draw.width / SIDE;  // canvas pixels per model pixel
  const BRUSH = 2.2 * CELL;  // radius: strokes about four dataset pixels wide, fading at the edge
  const strokes = [];
  let stroke = null;

  function stamp(x, y) {
    const g = drawCtx.createRadialGradient(x, y, 0, x, y, BRUSH);
    g.addColorStop(0, "rgba(255, 255, 255, 1)"); g.addColorStop(0.45, "rgba(255, 255, 255, 0.9)");
    g.addColorStop(1, "rgba(255, 255, 255, 0)");
    drawCtx.fillStyle = g;
    drawCtx.fillRect(x - BRUSH, y - BRUSH, 2 * BRUSH, 2 * BRUSH);
  }
  // stamps every 2 canvas pixels along the stroke; "lighten" keeps the brighter of old and new,
  // so a line crossing itself stays one grey level instead of burning white
  function paint(points, from) {
    drawCtx.globalCompositeOperation = "lighten";
    for (let i = Math.max(from, 0); i < points.length; i++) {
      const a = points[Math.max(i - 1, 0)], b = points[i];
      const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / 2));
      for (let s = 1; s <= steps; s++) stamp(a[0] + (b[0] - a[0]) * s / steps, a[1] + (b[1] - a[1]) * s / steps);
    }
    drawCtx.globalCompositeOperation = "source-over";
  }
  function repaint() {
    drawCtx.fillStyle = "#000";
    drawCtx.fillRect(0, 0, draw.width, draw.height);
    strokes.forEach(function (points) { paint(points, 0); });
  }
  // the mean of each CELL x CELL block: grey levels like the dataset's anti-aliased edges
  function drawnPixels() {
    const rgba = drawCtx.getImageData(0, 0, draw.width, draw.height).data, out = new Uint8Array(PIXELS);
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        let sum = 0;
        for (let y = r * CELL; y < (r + 1) * CELL; y++) {
          for (let x = c * CELL; x < (c + 1) * CELL; x++) sum += rgba[4 * (y * draw.width + x)];
        }
        out[r * SIDE + c] = Math.round(sum / (CELL * CELL));
      }
    }
    return out;
  }
  let frameAsked = false;
  function askDrawing() {  // at most once per frame while the pen moves
    if (frameAsked) return;
    frameAsked = true;
    requestAnimationFrame(function () { frameAsked = false; ask(drawnPixels(), "draw"); });
  }
  function canvasPoint(e) {
    const box = draw.getBoundingClientRect();
    return [(e.clientX - box.left) * draw.width / box.width, (e.clientY - box.top) * draw.height / box.height];
  }
  draw.addEventListener("pointerdown", function (e) {
    if (!session) return;
    e.preventDefault();
    draw.setPointerCapture(e.pointerId);
    stroke = [canvasPoint(e)];
    strokes.push(stroke);
    paint(stroke, 0);
    askDrawing();
  });
  draw.addEventListener("pointermove", function (e) {
    if (!stroke) return;
    stroke.push(canvasPoint(e));
    paint(stroke, stroke.length - 1);
    askDrawing();
  });
  function endStroke() { if (stroke) { stroke = null; askDrawing(); } }
  draw.addEventListener("pointerup", endStroke);
  draw.addEventListener("pointercancel", endStroke);
  document.getElementById("try-undo").addEventListener("click", function () {
    strokes.pop(); repaint(); if (session) ask(drawnPixels(), "draw");
  });
  document.getElementById("try-clear").addEventListener("click", function () {
    strokes.length = 0; repaint(); if (session) ask(drawnPixels(), "draw");
  });
  repaint();

  // ---- an image file, prepared as Fashion-MNIST's images were ----------------------------------
  const LARGEST = 1024;  // a photo is read at most this many pixels on its longer side
  const TRIM = 0.05 * 255;  // a pixel this far from the background's grey is part of the object

  // Grey (Rec. 601 luma) of an RGBA image already composited on white.
  function grey(rgba, count) {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
    return out;
  }

  // grey (w x h) -> 28 x 28 uint8, or null for an image of one grey. The background (the mean of the
  // four corners) becomes black, the object light: inverted when the background is light. An image
  // of 28 x 28 is taken as prepared; a larger or smaller one is trimmed to the object's box, its
  // longer side scaled to 28 by area averaging, and centred.
  function prepare(g, w, h) {
    const bg = (g[0] + g[w - 1] + g[(h - 1) * w] + g[h * w - 1]) / 4, light = bg > 127.5;
    const level = function (v) {
      const scaled = light ? (bg - v) * 255 / bg : (v - bg) * 255 / (255 - bg);
      return Math.min(255, Math.max(0, Math.round(scaled)));
    };
    const out = new Uint8Array(PIXELS);
    if (w === SIDE && h === SIDE) {
      for (let i = 0; i < PIXELS; i++) out[i] = level(g[i]);
      return out;
    }
    let x0 = w, x1 = -1, y0 = h, y1 = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (Math.abs(g[y * w + x] - bg) > TRIM) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      }
    }
    if (x1 < 0) return null;
    const cw = x1 - x0 + 1, ch = y1 - y0 + 1, scale = SIDE / Math.max(cw, ch);
    const dw = Math.max(1, Math.round(cw * scale)), dh = Math.max(1, Math.round(ch * scale));
    const ox = Math.floor((SIDE - dw) / 2), oy = Math.floor((SIDE - dh) / 2);
    for (let ty = 0; ty < dh; ty++) {
      const fy0 = y0 + ty * ch / dh, fy1 = y0 + (ty + 1) * ch / dh;
      for (let tx = 0; tx < dw; tx++) {
        const fx0 = x0 + tx * cw / dw, fx1 = x0 + (tx + 1) * cw / dw;
        let sum = 0, area = 0;
        for (let y = Math.floor(fy0); y < fy1; y++) {
          const wy = Math.min(fy1, y + 1) - Math.max(fy0, y);
          for (let x = Math.floor(fx0); x < fx1; x++) {
            const wx = Math.min(fx1, x + 1) - Math.max(fx0, x);
            sum += wx * wy * g[y * w + x]; area += wx * wy;
          }
        }
        out[(oy + ty) * SIDE + ox + tx] = level(sum / area);
      }
    }
    return out;
  }

  async function readFile(file) {
    if (!session) return;
    let bitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      note("The file " + JSON.stringify(file.name) + " could not be decoded as an image: give a PNG, JPEG or WebP.");
      return;
    }
    const scale = Math.min(1, LARGEST / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
    ctx.canvas.width = w; ctx.canvas.height = h;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);  // a transparent background counts as white
    ctx.drawImage(bitmap, 0, 0, w, h);
    const pixels = prepare(grey(ctx.getImageData(0, 0, w, h).data, w * h), w, h);
    if (!pixels) { note("The image " + JSON.stringify(file.name) + " is one colour only: nothing on it to answer."); return; }
    note("The image " + JSON.stringify(file.name) + " (" + bitmap.width + " × " + bitmap.height + " pixels), prepared:");
    ask(pixels, "file");
  }
  const fileInput = document.getElementById("try-file"), drop = document.getElementById("try-drop");
  fileInput.addEventListener("change", function () { if (fileInput.files.length) readFile(fileInput.files[0]); });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("try-over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("try-over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    drop.classList.remove("try-over");
    if (e.dataTransfer.files.length) readFile(e.dataTransfer.files[0]);
  });

  // ---- the carried test images --------------------------------------------------------------
  const indexInput = document.getElementById("try-index"), wrongOnly = document.getElementById("try-wrong");
  function testImage(index) { return testPixels.subarray(index * PIXELS, (index + 1) * PIXELS); }
  function pick(index) {
    const p = explorer.points[index];
    note("Test image " + index + ": true class " + explorer.classNames[p[2]] + ".");
    ask(testImage(index), "test:" + index);
  }
  indexInput.addEventListener("input", function () {
    if (!session) return;
    const text = indexInput.value;
    if (/^\d{1,9}$/.test(text) && Number(text) < data.carried) pick(Number(text));
    else note("This page carries test images 0 to " + (data.carried - 1) + "; " + JSON.stringify(text) + " is not one of them.");
  });
  document.getElementById("try-random").addEventListener("click", function () {
    if (!session) return;
    const choices = [];
    for (let i = 0; i < data.carried; i++) {
      if (!wrongOnly.checked || explorer.points[i][2] !== explorer.points[i][3]) choices.push(i);
    }
    if (!choices.length) { note("The model gets every carried test image right: there is no wrong one to show."); return; }
    const index = choices[Math.floor(Math.random() * choices.length)];
    indexInput.value = String(index);
    pick(index);
  });

  // ---- start: unpack, create the session, measure, answer the first test image --------------------
  const started = performance.now();
  async function start() {
    if (typeof DecompressionStream !== "function") throw new Error("this browser has no DecompressionStream");
    const parts = await Promise.all([unpack(window.TRY_IT_WASM), unpack(window.TRY_IT_MODEL), unpack(data.images)]);
    testPixels = parts[2];
    ort.env.logLevel = "error";
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmBinary = parts[0];
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(new Blob([window.TRY_IT_GLUE], { type: "text/javascript" })) };
    session = await ort.InferenceSession.create(parts[1], { executionProviders: ["wasm"] });
    const startMs = performance.now() - started;
    const times = [];
    busy = true;  // the measurement runs alone
    for (let i = 0; i < Math.min(100, data.carried); i++) {
      const t = performance.now();
      await infer(testImage(i));
      times.push(performance.now() - t);
    }
    busy = false;
    times.sort(function (a, b) { return a - b; });
    const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
    const speed = document.getElementById("try-speed");
    speed.dataset.startMs = startMs.toFixed(0);
    speed.dataset.medianMs = median.toFixed(2);
    speed.textContent = "Measured in this browser: the runtime and the model started in " + startMs.toFixed(0) +
      " ms; one image takes " + median.toFixed(1) + " ms (the median over " + times.length + " test images, " +
      data.runtime + ", WebAssembly, one thread).";
    root.dataset.state = "ready";
    note("Ready. Showing test image 0: draw, drop an image or pick another test image.");
    ask(testImage(0), "test:0");
  }

  if (typeof WebAssembly !== "object") {
    fail("This browser cannot run WebAssembly, which the model needs: open the page in a recent Chrome, Edge, " +
         "Firefox or Safari.");
    return;
  }
  if (!data || !explorer || !window.TRY_IT_MODEL || !window.TRY_IT_WASM || !window.TRY_IT_GLUE || !window.ort) {
    fail("A file of this page did not load, so the model cannot run here; build the report again (make site).");
    return;
  }
  start().catch(function (error) {
    session = null;
    fail("The model could not start in this browser (" + String(error && error.message || error).split("\n")[0] +
         "): open the page in a recent Chrome, Edge, Firefox or Safari, or serve the site over http " +
         "(python -m http.server) if this browser blocks files opened from the disk.");
  });
  sprite.addEventListener("load", function () { if (last) showNeighbours(last.neighbours); });
  window.addEventListener("resize", drawPlane);
  // the palette toggle sets data-md-color-scheme on <body>: redraw in the scheme's colours
  new MutationObserver(function () { theme = readTheme(); drawPlane(); })
    .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  drawPlane();
})();
