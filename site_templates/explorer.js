// Interactive bottleneck explorer: plain JavaScript on two canvases, no library, no network.
// Reads window.EXPLORER_DATA (explorer/data.js) and the thumbnail sheet explorer/sprite.png.
(function () {
  "use strict";
  const data = window.EXPLORER_DATA;
  const root = document.getElementById("explorer");
  const sprite = new Image();
  sprite.src = root.dataset.sprite;
  const api = { drawnPoints: 0 };
  window.explorer = api;

  function fitCanvas(canvas) {
    const box = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(box.width * dpr);
    canvas.height = Math.round(box.height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, width: box.width, height: box.height, dpr: dpr };
  }

  function pct(value) { return (100 * value).toFixed(1) + "%"; }

  // ---- colours of the page's scheme (mkdocs-material's light "default" or dark "slate") --------
  // Background, text and the pale region tints come from the theme's CSS custom properties, read
  // again (and both canvases redrawn) whenever the palette toggle changes the scheme.
  const probe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  probe.canvas.width = probe.canvas.height = 1;

  // [r, g, b] of a CSS colour painted over `under` (for a text colour with alpha)
  function rgbOf(colour, under) {
    probe.clearRect(0, 0, 1, 1);
    if (under) { probe.fillStyle = "rgb(" + under.join(",") + ")"; probe.fillRect(0, 0, 1, 1); }
    probe.fillStyle = colour; probe.fillRect(0, 0, 1, 1);
    return Array.from(probe.getImageData(0, 0, 1, 1).data.slice(0, 3));
  }

  function readTheme() {
    const style = getComputedStyle(document.body);
    const prop = function (name, fallback) { return style.getPropertyValue(name).trim() || fallback; };
    const bg = rgbOf(prop("--md-default-bg-color", "#fff"));
    const fg = rgbOf(prop("--md-default-fg-color", "rgba(0, 0, 0, .87)"), bg);
    const light = rgbOf(prop("--md-default-fg-color--light", "rgba(0, 0, 0, .54)"), bg);
    const dark = bg[0] + bg[1] + bg[2] < 3 * 128;
    const rgb = function (c, alpha) { return "rgba(" + c.join(", ") + ", " + (alpha === undefined ? 1 : alpha) + ")"; };
    return {
      dark: dark, bg: rgb(bg), text: rgb(fg), tick: rgb(light),
      band: rgb(bg, 0.75),  // under the tick labels, so points under them stay visible
      ring: dark ? rgb(fg, 0.7) : "#111",  // around misclassified and pinned points
      // each class colour mixed into the background: 22% on white, 30% on the dark scheme's grey
      tints: data.colours.map(function (hex) {
        const weight = dark ? 0.30 : 0.22;
        return [1, 3, 5].map(function (at, j) {
          return Math.round(bg[j] + weight * (parseInt(hex.slice(at, at + 2), 16) - bg[j]));
        });
      }),
    };
  }
  let theme = readTheme();

  // ---- scatter of every test image -------------------------------------------------------
  const scatter = document.getElementById("explorer-scatter");
  const tooltip = document.getElementById("explorer-tooltip");
  const pinned = document.getElementById("explorer-pinned");
  const selection = document.getElementById("explorer-selection");
  const colourBy = document.getElementById("explorer-colour");
  const hidden = new Set();
  const home = { x0: data.limits[0][0], x1: data.limits[0][1], y0: data.limits[1][0], y1: data.limits[1][1] };
  let view = Object.assign({}, home);
  let pin = -1;  // index of the pinned test image, -1 for none
  let selected = [];  // indices inside the last box selection

  // Colour of point p under each mode: true class, predicted class, correct/wrong, confidence.
  const modes = {
    true: function (p) { return data.colours[p[2]]; },
    predicted: function (p) { return data.colours[p[3]]; },
    correct: function (p) { return p[2] === p[3] ? "#4c72b0" : "#c44e52"; },
    confidence: function (p) { return "hsl(" + Math.round(240 * (1 - p[4])) + ", 75%, 45%)"; },
  };

  // ---- the view lives in the URL hash, so a link reproduces it and a reload restores it -----
  // Anyone can send a link, so each part of the hash is checked on its own and a part that fails
  // falls back to its default alone: the page never draws from a value it did not check.
  const ZOOM = 1e3;  // the view is at most this many times smaller or larger than the data's box
  const homeWidth = home.x1 - home.x0, homeHeight = home.y1 - home.y0;

  // Bounds finite, each side within ZOOM of the data's box either way (so ordered, never
  // degenerate, never overflowing) and overlapping the data's box, so the canvas keeps part of it.
  function viewFits(v) {
    const width = v.x1 - v.x0, height = v.y1 - v.y0;
    return [v.x0, v.x1, v.y0, v.y1].every(Number.isFinite) &&
      width >= homeWidth / ZOOM && width <= homeWidth * ZOOM &&
      height >= homeHeight / ZOOM && height <= homeHeight * ZOOM &&
      v.x0 < home.x1 && v.x1 > home.x0 && v.y0 < home.y1 && v.y1 > home.y0;
  }

  // The index `text` names in [0, count), else -1: decimal digits only, so "", "-5", "1e3", "0x1f"
  // and " 7" name nothing.
  function indexIn(text, count) {
    if (!/^\d{1,9}$/.test(text)) return -1;
    const n = Number(text);
    return n < count ? n : -1;
  }

  function writeHash() {
    const parts = [];
    if (hidden.size) parts.push("hide=" + Array.from(hidden).sort(function (a, b) { return a - b; }).join(","));
    if (view.x0 !== home.x0 || view.x1 !== home.x1 || view.y0 !== home.y0 || view.y1 !== home.y1) {
      // shortest digits that read back as the same number: a view the page reached always fits on reload
      parts.push("view=" + [view.x0, view.x1, view.y0, view.y1].map(String).join(","));
    }
    if (pin >= 0) parts.push("pin=" + pin);
    if (colourBy.value !== "true") parts.push("colour=" + colourBy.value);
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
  }

  // key -> decoded value of each `key=value` part; a Map, so "constructor" or "__proto__" is a
  // key like any other, and a part whose escape is malformed is left out.
  function hashParts() {
    const parts = new Map();
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      const at = part.indexOf("=");
      if (at <= 0) return;
      try {
        parts.set(part.slice(0, at), decodeURIComponent(part.slice(at + 1)));
      } catch {  // URIError: "%E0%A4%A" and the like
        parts.delete(part.slice(0, at));
      }
    });
    return parts;
  }

  function readHash() {
    const parts = hashParts();
    hidden.clear();
    (parts.get("hide") || "").split(",").forEach(function (text) {
      const c = indexIn(text, data.classNames.length);
      if (c >= 0) hidden.add(c);
    });
    const v = (parts.get("view") || "").split(",").map(Number);
    const stored = { x0: v[0], x1: v[1], y0: v[2], y1: v[3] };
    view = v.length === 4 && viewFits(stored) ? stored : Object.assign({}, home);
    pin = indexIn(parts.get("pin") || "", data.points.length);
    const colour = parts.get("colour");
    colourBy.value = Object.hasOwn(modes, colour) ? colour : "true";
  }

  // ---- one scale on both axes -------------------------------------------------------------
  // The view is the region asked for (the data's box, a stored hash or a zoom of either). The canvas
  // shows that region whole, centred, at one scale k for x and y, so a data unit is as many pixels
  // across as up and the plane keeps its shape on a wide desktop and a tall phone alike.
  // The axes' bands along the left and bottom edges (tick labels, then the axis' title) are kept out
  // of the plot area, so no point of the view hides under them.
  const BAND_X = 50, BAND_Y = 31;  // widths of the y and x axes' bands, in CSS pixels
  const TITLES = [root.dataset.xTitle, root.dataset.yTitle];  // "bottleneck unit 1", ... (results.json)
  function fitted(region, width, height) {
    const plotWidth = Math.max(1, width - BAND_X), plotHeight = Math.max(1, height - BAND_Y);
    const k = Math.min(plotWidth / (region.x1 - region.x0), plotHeight / (region.y1 - region.y0));
    const cx = (region.x0 + region.x1) / 2, cy = (region.y0 + region.y1) / 2;
    const mx = BAND_X + plotWidth / 2, my = plotHeight / 2;  // the plot area's centre on the canvas
    return {
      k: k, width: width, height: height,
      toScreen: function (x, y) { return [mx + (x - cx) * k, my - (y - cy) * k]; },
      dataX: function (sx) { return cx + (sx - mx) / k; },
      dataY: function (sy) { return cy - (sy - my) / k; },
    };
  }

  // The current view fitted to the scatter; measures the canvas once per call, not once per point.
  function transform() {
    const box = scatter.getBoundingClientRect();
    return fitted(view, box.width, box.height);
  }

  // Data -> canvas (CSS pixel) coordinates for the current view.
  function projection() { return transform().toScreen; }

  // ---- axes: round tick values on the left and bottom edges, for whatever part is in view ------
  function tickValues(lo, hi, count) {
    const raw = (hi - lo) / count, unit = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / unit;
    const step = unit * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    const values = [];
    for (let i = Math.ceil(lo / step); i * step <= hi; i++) {
      // no "-0"; a minus sign (U+2212), as wide as a digit, not a hyphen
      values.push({ value: i * step, text: (i === 0 ? 0 : i * step).toFixed(digits).replace("-", "\u2212") });
    }
    return values;
  }

  // Ticks, labels and the axes' titles drawn over the plot, on a band of the page's background along
  // the left and bottom edges (so points under them stay visible), in the scheme's colours; returns
  // the tick values, for the page's test hook. Labels sit left of the y axis' line and below the x axis' line,
  // the ticks pointing into the plot: a tick beside or under a label reads as a minus sign or an
  // underscore ("_16", "-16").
  function drawAxes(ctx, t) {
    const xs = tickValues(t.dataX(BAND_X), t.dataX(t.width), Math.max(2, t.width / 90));
    const ys = data.yTicks === false ? [] : tickValues(t.dataY(t.height - BAND_Y), t.dataY(0), Math.max(2, t.height / 70));
    const axisY = t.height - BAND_Y + 0.5, axisX = BAND_X - 0.5;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = theme.band;
    ctx.fillRect(0, t.height - BAND_Y, t.width, BAND_Y);
    ctx.fillRect(0, 0, BAND_X, t.height - BAND_Y);
    ctx.strokeStyle = theme.tick; ctx.fillStyle = theme.text; ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(axisX, 0); ctx.lineTo(axisX, axisY); ctx.lineTo(t.width, axisY);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    xs.forEach(function (tick) {
      const sx = Math.round(t.toScreen(tick.value, 0)[0]) + 0.5;
      if (sx < axisX) return;
      ctx.moveTo(sx, axisY); ctx.lineTo(sx, axisY - 5);
      // a label cut by the canvas edge is left out; its tick stays
      if (sx > BAND_X + 8 && sx < t.width - 14) ctx.fillText(tick.text, sx, axisY + 2);
    });
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ys.forEach(function (tick) {
      const sy = Math.round(t.toScreen(0, tick.value)[1]) + 0.5;
      if (sy > axisY) return;  // under the x axis' band
      ctx.moveTo(axisX, sy); ctx.lineTo(axisX + 5, sy);
      if (sy > 7 && sy < axisY - 6) ctx.fillText(tick.text, axisX - 3, sy);
    });
    ctx.stroke();
    // each title centred on the plot area's side, below the x labels and left of the y labels
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    ctx.fillText(TITLES[0], (axisX + t.width) / 2, t.height - 1);
    ctx.save();
    ctx.translate(0, axisY / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "top";
    ctx.fillText(TITLES[1], 0, 1);
    ctx.restore();
    return { x: xs.map(function (tick) { return tick.value; }), y: ys.map(function (tick) { return tick.value; }) };
  }

  // ---- decision regions of the affine head, under the points -----------------------------------
  // data.head is W (classes x 2) and b when the head is affine on the plane, else null. Each device
  // pixel of the plot area (the axes' bands stay untinted) takes the pale colour of argmax W z + b at
  // its centre (the static map's tint). Along a row every logit is linear in the column, so a class
  // keeps the row until the first column where a steeper one overtakes it: each row is filled run by
  // run, a few argmaxes per row however wide the canvas. The layer is cached per view, so redraws that
  // keep the view (pin, hide, colour) cost one drawImage.
  const regions = { key: null, canvas: document.createElement("canvas"), left: 0 };

  // The plot area in device pixels: [left, width) x [0, height).
  function regionBox(t, dpr) {
    const left = Math.round(BAND_X * dpr);
    return { left: left, width: Math.max(1, Math.round(t.width * dpr) - left),
             height: Math.max(1, Math.round((t.height - BAND_Y) * dpr)) };
  }

  function regionLayer(t, dpr) {
    const area = regionBox(t, dpr);
    const key = [t.k, t.dataX(0), t.dataY(0), t.width, t.height, dpr, theme.bg].join();
    if (regions.key === key) return regions;
    regions.canvas.width = area.width; regions.canvas.height = area.height; regions.left = area.left;
    const ctx = regions.canvas.getContext("2d"), image = ctx.createImageData(area.width, area.height);
    const pixels = new Uint32Array(image.data.buffer);  // RGBA bytes as one little-endian word each
    const packed = theme.tints.map(function (c) { return ((255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0; });
    const w = data.head.weight, b = data.head.bias, classes = b.length;
    const x0 = t.dataX((area.left + 0.5) / dpr), step = 1 / (dpr * t.k);  // data x of column 0, per column
    const start = new Float64Array(classes), slope = new Float64Array(classes);
    for (let k = 0; k < classes; k++) slope[k] = w[k][0] * step;
    for (let r = 0; r < area.height; r++) {
      const y = t.dataY((r + 0.5) / dpr);
      for (let k = 0; k < classes; k++) start[k] = w[k][0] * x0 + w[k][1] * y + b[k];  // logit k at column c: start + slope c
      for (let c = 0; c < area.width;) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (start[k] + slope[k] * c > start[best] + slope[best] * c) best = k;
        let end = area.width;
        for (let k = 0; k < classes; k++) {
          if (slope[k] <= slope[best]) continue;  // never overtakes to the right
          const overtakes = Math.floor((start[best] - start[k]) / (slope[k] - slope[best])) + 1;
          if (overtakes < end) end = overtakes;
        }
        end = Math.max(end, c + 1);
        pixels.fill(packed[best], r * area.width + c, r * area.width + end);
        c = end;
      }
    }
    ctx.putImageData(image, 0, 0);
    regions.key = key;
    return regions;
  }

  let pointColours = data.points.map(modes.true);  // each point's fill under the chosen colour mode
  let box = null;  // a box selection being drawn, in canvas pixels

  // One path per fill colour (a few dozen fills instead of one per point): the redraw of all
  // 10,000 points on pan and zoom stays within a frame.
  function drawScatter() {
    const started = performance.now();
    const { ctx, width, height, dpr } = fitCanvas(scatter);
    const t = fitted(view, width, height), toScreen = t.toScreen;
    ctx.clearRect(0, 0, width, height);
    if (data.head) {  // pixel for pixel: drawn in device pixels, past the CSS-pixel transform
      const layer = regionLayer(t, dpr);
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(layer.canvas, layer.left, 0);
      ctx.restore();
    }
    let drawn = 0;
    for (const wrongPass of [false, true]) {  // misclassified points on top, with a dark ring
      const radius = wrongPass ? 3 : 2;
      const groups = new Map();  // fill colour -> [x0, y0, x1, y1, ...] on screen
      data.points.forEach(function (p, i) {
        if ((p[2] !== p[3]) !== wrongPass || hidden.has(p[2])) return;
        let xy = groups.get(pointColours[i]);
        if (!xy) groups.set(pointColours[i], xy = []);
        xy.push.apply(xy, toScreen(p[0], p[1]));
      });
      groups.forEach(function (xy, fill) {
        ctx.beginPath();
        for (let k = 0; k < xy.length; k += 2) {
          ctx.moveTo(xy[k] + radius, xy[k + 1]);
          ctx.arc(xy[k], xy[k + 1], radius, 0, 2 * Math.PI);
        }
        ctx.fillStyle = fill;
        ctx.fill();
        if (wrongPass) { ctx.lineWidth = 0.9; ctx.strokeStyle = theme.ring; ctx.stroke(); }
        drawn += xy.length / 2;
      });
    }
    if (pin >= 0) {
      const [sx, sy] = toScreen(data.points[pin][0], data.points[pin][1]);
      ctx.beginPath();
      ctx.arc(sx, sy, 7, 0, 2 * Math.PI);
      ctx.lineWidth = 2; ctx.strokeStyle = theme.ring; ctx.stroke();
    }
    if (box) {
      ctx.strokeStyle = theme.text; ctx.setLineDash([4, 3]); ctx.lineWidth = 1;
      ctx.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      ctx.setLineDash([]);
    }
    api.lastTicks = drawAxes(ctx, t);
    api.drawnPoints = drawn;
    api.lastDrawMs = performance.now() - started;
  }

  function nearest(clientX, clientY, radius) {
    const box = scatter.getBoundingClientRect();
    const mx = clientX - box.left, my = clientY - box.top;
    const toScreen = projection();
    let best = -1, bestDistance = radius * radius;
    data.points.forEach(function (p, i) {
      if (hidden.has(p[2])) return;
      const [sx, sy] = toScreen(p[0], p[1]);
      const d = (sx - mx) * (sx - mx) + (sy - my) * (sy - my);
      if (d < bestDistance) { bestDistance = d; best = i; }
    });
    return best;
  }

  function drawThumbnail(canvas, index) {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const col = index % data.spriteColumns, row = Math.floor(index / data.spriteColumns);
    ctx.drawImage(sprite, col * data.tile, row * data.tile, data.tile, data.tile, 0, 0, canvas.width, canvas.height);
  }

  function describe(index) {
    const p = data.points[index];
    return "test image " + index + " · true: " + data.classNames[p[2]] + " · predicted: " +
      data.classNames[p[3]] + " (" + pct(p[4]) + ")";
  }

  function showTooltip(index, clientX, clientY) {
    if (index < 0) { tooltip.hidden = true; return; }
    drawThumbnail(tooltip.querySelector("canvas"), index);
    tooltip.querySelector(".explorer-text").textContent = describe(index);
    const box = scatter.parentElement.getBoundingClientRect();
    tooltip.style.left = Math.min(clientX - box.left + 14, box.width - 230) + "px";
    tooltip.style.top = (clientY - box.top + 14) + "px";
    tooltip.hidden = false;
  }

  function showPinned() {
    pinned.hidden = pin < 0;
    if (pin < 0) return;
    const p = data.points[pin];
    drawThumbnail(pinned.querySelector("canvas"), pin);
    pinned.querySelector(".explorer-text").textContent = describe(pin);
    pinned.querySelector("a").href = "confusion.html#cell-" + p[2] + "-" + p[3] + "-image-" + pin;
  }

  function setPin(index) {
    pin = index;
    showPinned();
    drawScatter();
    writeHash();
  }

  function boxSelect(b) {
    const box = scatter.getBoundingClientRect();
    const toScreen = projection();
    selected = [];
    data.points.forEach(function (p, i) {
      if (hidden.has(p[2])) return;
      const [sx, sy] = toScreen(p[0], p[1]);
      if (sx >= b.x0 && sx <= b.x1 && sy >= b.y0 && sy <= b.y1 && sx <= box.width && sy <= box.height) selected.push(i);
    });
    selection.hidden = false;
    selection.querySelector(".explorer-count").textContent =
      selected.length + " test image" + (selected.length === 1 ? "" : "s") + " selected";
    const list = selection.querySelector(".explorer-list");
    list.textContent = "";
    selected.slice(0, 200).forEach(function (i) {
      const thumb = document.createElement("canvas");
      thumb.width = thumb.height = 56;
      thumb.title = describe(i);
      drawThumbnail(thumb, i);
      thumb.addEventListener("click", function () { setPin(i); });
      list.appendChild(thumb);
    });
    api.selected = selected.slice();
  }

  // One CSV field. A finite number is written as it is, so every reader takes "-1.25" as minus
  // 1.25; anything else is text (class names come from the model file): quoted, quotes doubled,
  // and one a spreadsheet would run as a formula (leading =, +, -, @, tab or CR) prefixed with '.
  function csvField(value) {
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    let text = String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return '"' + text.replace(/"/g, '""') + '"';
  }

  api.selectionCsv = function () {
    const rows = [["test_index", "true_class", "predicted_class", "confidence", "x", "y"]];
    selected.forEach(function (i) {
      const p = data.points[i];
      rows.push([i, data.classNames[p[2]], data.classNames[p[3]], p[4], p[0], p[1]]);
    });
    return rows.map(function (r) { return r.map(csvField).join(","); }).join("\r\n") + "\r\n";
  };

  selection.querySelector("button").addEventListener("click", function () {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([api.selectionCsv()], { type: "text/csv" }));
    link.download = "selected_test_images.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });

  let drag = null;
  scatter.addEventListener("pointerdown", function (e) {
    const b = scatter.getBoundingClientRect();
    drag = { x: e.clientX, y: e.clientY, view: Object.assign({}, view), moved: false, select: e.shiftKey,
             left: b.left, top: b.top, k: fitted(view, b.width, b.height).k };
    scatter.setPointerCapture(e.pointerId);
  });
  scatter.addEventListener("pointermove", function (e) {
    if (drag && drag.select) {
      box = { x0: Math.min(drag.x, e.clientX) - drag.left, x1: Math.max(drag.x, e.clientX) - drag.left,
              y0: Math.min(drag.y, e.clientY) - drag.top, y1: Math.max(drag.y, e.clientY) - drag.top };
      drag.moved = true;
      drawScatter();
      return;
    }
    if (drag) {
      const dx = (e.clientX - drag.x) / drag.k, dy = (e.clientY - drag.y) / drag.k;  // one scale: pixels -> data
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) drag.moved = true;
      if (drag.moved) {
        const panned = { x0: drag.view.x0 - dx, x1: drag.view.x1 - dx, y0: drag.view.y0 + dy, y1: drag.view.y1 + dy };
        if (viewFits(panned)) view = panned;  // a pan stops where the view would leave the data's box
        tooltip.hidden = true;
        drawScatter();
        return;
      }
    }
    showTooltip(nearest(e.clientX, e.clientY, 8), e.clientX, e.clientY);
  });
  scatter.addEventListener("pointerup", function (e) {
    if (drag && drag.select && box) {
      boxSelect(box);
      box = null;
      drawScatter();
    } else if (drag && !drag.moved) {  // a tap or click pins the nearest point (or unpins)
      const index = nearest(e.clientX, e.clientY, 14);
      showTooltip(index, e.clientX, e.clientY);
      setPin(index);
    } else if (drag) {
      writeHash();  // the end of a pan
    }
    drag = null;
  });
  scatter.addEventListener("pointerleave", function () { if (!drag) tooltip.hidden = true; });
  scatter.addEventListener("wheel", function (e) {
    e.preventDefault();
    // Scaling the region about the data point under the pointer scales the fitted view about it too,
    // so that point stays under the pointer and the one scale stays one.
    const box = scatter.getBoundingClientRect(), t = fitted(view, box.width, box.height);
    const cx = t.dataX(e.clientX - box.left), cy = t.dataY(e.clientY - box.top);
    const k = e.deltaY > 0 ? 1.2 : 1 / 1.2;
    const zoomed = { x0: cx - (cx - view.x0) * k, x1: cx + (view.x1 - cx) * k,
                     y0: cy - (cy - view.y0) * k, y1: cy + (view.y1 - cy) * k };
    if (viewFits(zoomed)) view = zoomed;  // the wheel stops at ZOOM either way
    drawScatter();
    writeHash();
  }, { passive: false });
  document.getElementById("explorer-reset").addEventListener("click", function () {
    view = Object.assign({}, home);
    drawScatter();
    writeHash();
  });
  colourBy.addEventListener("change", function () {
    pointColours = data.points.map(modes[colourBy.value]);
    drawScatter();
    writeHash();
  });
  pinned.querySelector("button").addEventListener("click", function () { setPin(-1); });

  const legend = document.getElementById("explorer-legend");
  data.classNames.forEach(function (name, c) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "explorer-class";
    button.dataset.index = String(c);
    button.innerHTML = '<span class="explorer-swatch"></span>';
    button.querySelector(".explorer-swatch").style.background = data.colours[c];
    const text = document.createElement("span");
    text.className = "explorer-name";  // ellipsized when long; the title holds it whole
    text.textContent = name;
    button.appendChild(text);
    button.title = name + " · click: hide or show · double-click: show this class alone";
    button.addEventListener("click", function () {
      if (hidden.has(c)) hidden.delete(c); else hidden.add(c);
      refreshLegend();
    });
    button.addEventListener("dblclick", function () {
      const alone = hidden.size === data.classNames.length - 1 && !hidden.has(c);
      hidden.clear();
      if (!alone) data.classNames.forEach(function (_, other) { if (other !== c) hidden.add(other); });
      refreshLegend();
    });
    legend.appendChild(button);
  });
  function refreshLegend() {
    legend.querySelectorAll("button").forEach(function (b) {
      b.classList.toggle("explorer-off", hidden.has(Number(b.dataset.index)));
    });
    drawScatter();
    writeHash();
  }

  function restore() {  // the state of the URL hash, on load and when the hash changes
    readHash();
    pointColours = data.points.map(modes[colourBy.value]);
    legend.querySelectorAll("button").forEach(function (b) {
      b.classList.toggle("explorer-off", hidden.has(Number(b.dataset.index)));
    });
    showPinned();
    drawScatter();
  }
  window.addEventListener("hashchange", restore);

  api.state = function () { return { hidden: Array.from(hidden), view: Object.assign({}, view), pin: pin,
                                      colour: colourBy.value }; };
  // Pixels per data unit along x and y, measured through the mapping the points are drawn with.
  api.scale = function () {
    const toScreen = projection(), o = toScreen(0, 0), u = toScreen(1, 1);
    return { x: u[0] - o[0], y: o[1] - u[1] };
  };
  api.ticks = function () { return api.lastTicks; };
  // The data point under a spot of the scatter (CSS pixels from its top left), and the plot area
  // there (left of it and below it the axes' bands), for tests.
  api.dataAt = function (x, y) { const t = transform(); return [t.dataX(x), t.dataY(y)]; };
  api.plotArea = function () {
    const box = scatter.getBoundingClientRect();
    return { left: BAND_X, top: 0, right: box.width, bottom: box.height - BAND_Y };
  };
  api.screenPosition = function (index) {
    const box = scatter.getBoundingClientRect();
    const [sx, sy] = projection()(data.points[index][0], data.points[index][1]);
    return [box.left + sx, box.top + sy];
  };

  // ---- replay of the probe points over training -----------------------------------------
  const replay = data.replay;
  const replayCanvas = document.getElementById("explorer-replay");
  const slider = document.getElementById("replay-slider");
  const label = document.getElementById("replay-label");
  const play = document.getElementById("replay-play");
  let timer = null;

  // The view of each frame follows its points: early snapshots sit within a hundredth of the origin,
  // a single dot at the final frame's axes. Each frame's box (centre and log half-size) is smoothed
  // forward and back over the frames, so playback glides instead of jumping, then grown to hold all
  // of its frame's points again; the same for every way of reaching the frame (play or slider).
  function replayViews() {
    const boxes = replay.frames.map(function (frame) {
      const xs = frame.map(function (p) { return p[0]; }), ys = frame.map(function (p) { return p[1]; });
      const x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      const y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
      // half-sizes with 6% padding each side, like the home view; never 0, whose log is -Infinity
      return [(x0 + x1) / 2, (y0 + y1) / 2, Math.log(Math.max((x1 - x0) * 0.56, 1e-6)),
              Math.log(Math.max((y1 - y0) * 0.56, 1e-6)), x0, x1, y0, y1];
    });
    const smooth = boxes.map(function (b) { return b.slice(0, 4); });
    const SMOOTHING = 0.4;  // weight of the neighbouring frame
    for (let f = 1; f < smooth.length; f++) {
      for (let j = 0; j < 4; j++) smooth[f][j] += SMOOTHING * (smooth[f - 1][j] - smooth[f][j]);
    }
    for (let f = smooth.length - 2; f >= 0; f--) {
      for (let j = 0; j < 4; j++) smooth[f][j] += SMOOTHING * (smooth[f + 1][j] - smooth[f][j]);
    }
    return smooth.map(function (s, f) {
      const hx = Math.exp(s[2]), hy = Math.exp(s[3]), b = boxes[f], padX = (b[5] - b[4]) * 0.06, padY = (b[7] - b[6]) * 0.06;
      return { x0: Math.min(s[0] - hx, b[4] - padX), x1: Math.max(s[0] + hx, b[5] + padX),
               y0: Math.min(s[1] - hy, b[6] - padY), y1: Math.max(s[1] + hy, b[7] + padY) };
    });
  }
  const frameViews = replay ? replayViews() : [];

  function replayTransform(f) {
    const box = replayCanvas.getBoundingClientRect();
    return fitted(frameViews[f], box.width, box.height);
  }

  function drawFrame(f) {
    const { ctx, width, height } = fitCanvas(replayCanvas);
    const t = fitted(frameViews[f], width, height);
    ctx.clearRect(0, 0, width, height);
    replay.frames[f].forEach(function (p, i) {
      const [sx, sy] = t.toScreen(p[0], p[1]);
      ctx.beginPath();
      ctx.arc(sx, sy, 4, 0, 2 * Math.PI);
      ctx.fillStyle = data.colours[replay.labels[i]];
      ctx.fill();
    });
    drawAxes(ctx, t);
    label.textContent = "epoch " + replay.epochs[f].toFixed(2) + " · step " + replay.steps[f].toLocaleString("en-US");
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }

  // The replay's legend: the colour of each class among the probe images, as on the scatter's buttons.
  function replayLegend() {
    const key = document.getElementById("replay-legend");
    data.classNames.forEach(function (name, c) {
      if (replay.labels.indexOf(c) < 0) return;
      const item = document.createElement("span");
      item.className = "explorer-key";
      item.innerHTML = '<span class="explorer-swatch"></span>';
      item.querySelector(".explorer-swatch").style.background = data.colours[c];
      const text = document.createElement("span");
      text.className = "explorer-name";
      text.textContent = name;
      item.title = name;
      item.appendChild(text);
      key.appendChild(item);
    });
  }

  if (replay) {
    replayLegend();
    slider.max = String(replay.frames.length - 1);
    slider.value = slider.max;  // opens on the trained plane; Play runs it from the first snapshot
    slider.addEventListener("input", function () { stop(); drawFrame(Number(slider.value)); });
    play.addEventListener("click", function () {
      if (timer) { stop(); return; }
      if (Number(slider.value) >= replay.frames.length - 1) slider.value = "0";
      play.textContent = "Pause";
      timer = setInterval(function () {
        const next = Number(slider.value) + 1;
        if (next >= replay.frames.length) { stop(); return; }
        slider.value = String(next);
        drawFrame(next);
      }, replay.frameMs);  // the GIF's frame time, --gif-frame-ms of the analysis
    });
    drawFrame(replay.frames.length - 1);
    // The shown frame and each probe point's position on the replay canvas, for tests.
    api.replay = function () {
      const f = Number(slider.value), t = replayTransform(f);
      return { frame: f, frames: replay.frames.length, width: t.width, height: t.height,
               positions: replay.frames[f].map(function (p) { return t.toScreen(p[0], p[1]); }) };
    };
  }

  window.addEventListener("resize", function () { drawScatter(); if (replay) drawFrame(Number(slider.value)); });
  // the palette toggle sets data-md-color-scheme on <body>: redraw both canvases in its colours
  new MutationObserver(function () {
    theme = readTheme();
    drawScatter();
    if (replay) drawFrame(Number(slider.value));
  }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  api.theme = function () { return theme; };
  restore();
  if (!sprite.complete) sprite.addEventListener("load", function () { showPinned(); drawScatter(); });
})();
