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
    return { ctx, width: box.width, height: box.height };
  }

  function pct(value) { return (100 * value).toFixed(1) + "%"; }

  // ---- scatter of every test image -------------------------------------------------------
  const scatter = document.getElementById("explorer-scatter");
  const tooltip = document.getElementById("explorer-tooltip");
  const hidden = new Set();
  const home = { x0: data.limits[0][0], x1: data.limits[0][1], y0: data.limits[1][0], y1: data.limits[1][1] };
  let view = Object.assign({}, home);

  function toScreen(x, y) {
    const box = scatter.getBoundingClientRect();
    return [(x - view.x0) / (view.x1 - view.x0) * box.width, (view.y1 - y) / (view.y1 - view.y0) * box.height];
  }

  function drawScatter() {
    const started = performance.now();
    const { ctx, width, height } = fitCanvas(scatter);
    ctx.clearRect(0, 0, width, height);
    let drawn = 0;
    for (const wrongPass of [false, true]) {  // misclassified points on top, with a dark ring
      for (const p of data.points) {
        const wrong = p[2] !== p[3];
        if (wrong !== wrongPass || hidden.has(p[2])) continue;
        const [sx, sy] = toScreen(p[0], p[1]);
        ctx.beginPath();
        ctx.arc(sx, sy, wrong ? 3 : 2, 0, 2 * Math.PI);
        ctx.fillStyle = data.colours[p[2]];
        ctx.fill();
        if (wrong) { ctx.lineWidth = 0.9; ctx.strokeStyle = "#111"; ctx.stroke(); }
        drawn += 1;
      }
    }
    api.drawnPoints = drawn;
    api.lastDrawMs = performance.now() - started;
  }

  function nearest(clientX, clientY, radius) {
    const box = scatter.getBoundingClientRect();
    const mx = clientX - box.left, my = clientY - box.top;
    let best = -1, bestDistance = radius * radius;
    data.points.forEach(function (p, i) {
      if (hidden.has(p[2])) return;
      const [sx, sy] = toScreen(p[0], p[1]);
      const d = (sx - mx) * (sx - mx) + (sy - my) * (sy - my);
      if (d < bestDistance) { bestDistance = d; best = i; }
    });
    return best;
  }

  function showTooltip(index, clientX, clientY) {
    if (index < 0) { tooltip.hidden = true; return; }
    const p = data.points[index];
    const thumb = tooltip.querySelector("canvas");
    const ctx = thumb.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    const col = index % data.spriteColumns, row = Math.floor(index / data.spriteColumns);
    ctx.drawImage(sprite, col * data.tile, row * data.tile, data.tile, data.tile, 0, 0, thumb.width, thumb.height);
    tooltip.querySelector(".explorer-text").textContent =
      "test image " + index + " · true: " + data.classNames[p[2]] + " · predicted: " +
      data.classNames[p[3]] + " (" + pct(p[4]) + ")";
    const box = scatter.parentElement.getBoundingClientRect();
    tooltip.style.left = Math.min(clientX - box.left + 14, box.width - 230) + "px";
    tooltip.style.top = (clientY - box.top + 14) + "px";
    tooltip.hidden = false;
  }

  let drag = null;
  scatter.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY, view: Object.assign({}, view), moved: false };
    scatter.setPointerCapture(e.pointerId);
  });
  scatter.addEventListener("pointermove", function (e) {
    if (drag) {
      const box = scatter.getBoundingClientRect();
      const dx = (e.clientX - drag.x) / box.width * (drag.view.x1 - drag.view.x0);
      const dy = (e.clientY - drag.y) / box.height * (drag.view.y1 - drag.view.y0);
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 3) drag.moved = true;
      if (drag.moved) {
        view = { x0: drag.view.x0 - dx, x1: drag.view.x1 - dx, y0: drag.view.y0 + dy, y1: drag.view.y1 + dy };
        tooltip.hidden = true;
        drawScatter();
        return;
      }
    }
    showTooltip(nearest(e.clientX, e.clientY, 8), e.clientX, e.clientY);
  });
  scatter.addEventListener("pointerup", function (e) {
    if (drag && !drag.moved) showTooltip(nearest(e.clientX, e.clientY, 14), e.clientX, e.clientY);  // a tap
    drag = null;
  });
  scatter.addEventListener("pointerleave", function () { if (!drag) tooltip.hidden = true; });
  scatter.addEventListener("wheel", function (e) {
    e.preventDefault();
    const box = scatter.getBoundingClientRect();
    const fx = (e.clientX - box.left) / box.width, fy = (e.clientY - box.top) / box.height;
    const cx = view.x0 + fx * (view.x1 - view.x0), cy = view.y1 - fy * (view.y1 - view.y0);
    const k = e.deltaY > 0 ? 1.2 : 1 / 1.2;
    view = { x0: cx - (cx - view.x0) * k, x1: cx + (view.x1 - cx) * k,
             y0: cy - (cy - view.y0) * k, y1: cy + (view.y1 - cy) * k };
    drawScatter();
  }, { passive: false });
  document.getElementById("explorer-reset").addEventListener("click", function () {
    view = Object.assign({}, home);
    drawScatter();
  });

  const legend = document.getElementById("explorer-legend");
  data.classNames.forEach(function (name, c) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "explorer-class";
    button.dataset.index = String(c);
    button.innerHTML = '<span class="explorer-swatch"></span>';
    button.querySelector(".explorer-swatch").style.background = data.colours[c];
    button.appendChild(document.createTextNode(name));
    button.title = "click: hide or show · double-click: show this class alone";
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
  }

  api.screenPosition = function (index) {
    const box = scatter.getBoundingClientRect();
    const [sx, sy] = toScreen(data.points[index][0], data.points[index][1]);
    return [box.left + sx, box.top + sy];
  };

  // ---- replay of the probe points over training -----------------------------------------
  const replay = data.replay;
  const replayCanvas = document.getElementById("explorer-replay");
  const slider = document.getElementById("replay-slider");
  const label = document.getElementById("replay-label");
  const play = document.getElementById("replay-play");
  let timer = null;

  function drawFrame(f) {
    const { ctx, width, height } = fitCanvas(replayCanvas);
    const [xl, yl] = replay.limits;
    ctx.clearRect(0, 0, width, height);
    replay.frames[f].forEach(function (p, i) {
      ctx.beginPath();
      ctx.arc((p[0] - xl[0]) / (xl[1] - xl[0]) * width, (yl[1] - p[1]) / (yl[1] - yl[0]) * height, 4, 0, 2 * Math.PI);
      ctx.fillStyle = data.colours[replay.labels[i]];
      ctx.fill();
    });
    label.textContent = "epoch " + replay.epochs[f].toFixed(2) + " · step " + replay.steps[f].toLocaleString("en-US");
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }

  if (replay) {
    slider.max = String(replay.frames.length - 1);
    slider.value = "0";
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
      }, 80);
    });
    drawFrame(0);
  }

  window.addEventListener("resize", function () { drawScatter(); if (replay) drawFrame(Number(slider.value)); });
  if (sprite.complete) drawScatter(); else { drawScatter(); sprite.addEventListener("load", drawScatter); }
})();
