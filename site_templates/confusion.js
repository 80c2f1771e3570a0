// Confusion matrix you can click: choosing a cell shows every test image in it.
// Reads window.CONFUSION_CELLS (confusion/cells.js: the test indices of each cell, each image's
// top-3 classes, the class names and, when the analysis had dynamics.npz, each image's history
// over training, shown as its tooltip) and the thumbnail sheet of the explorer. Plain JavaScript,
// no library, no network; the hash #cell-T-P (or #cell-T-P-image-I) opens a cell on load.
(function () {
  "use strict";
  const data = window.CONFUSION_CELLS;
  const root = document.getElementById("confusion");
  const gallery = document.getElementById("confusion-gallery");
  const api = { lastOpenMs: null, open: null };
  window.confusionGallery = api;
  const tile = Number(root.dataset.tile), columns = Number(root.dataset.columns), scale = 2;
  const sheetWidth = Number(root.dataset.sheetWidth), sheetHeight = Number(root.dataset.sheetHeight);

  function pct(value) { return (100 * value).toFixed(1) + "%"; }

  function thumbnail(index) {
    const picture = document.createElement("span");
    picture.className = "confusion-thumb";
    const col = index % columns, row = Math.floor(index / columns);
    picture.style.backgroundImage = "url(" + JSON.stringify(root.dataset.sprite) + ")";
    picture.style.backgroundSize = (sheetWidth * scale) + "px " + (sheetHeight * scale) + "px";
    picture.style.backgroundPosition = (-col * tile * scale) + "px " + (-row * tile * scale) + "px";
    return picture;
  }

  function open(t, p, wanted) {
    const started = performance.now();
    const members = data.cells[t][p];
    const highlight = members.indexOf(wanted) >= 0 ? wanted : -1;  // the URL names only an image shown
    root.querySelectorAll("td.confusion-chosen").forEach(function (c) { c.classList.remove("confusion-chosen"); });
    const cell = document.getElementById("cell-" + t + "-" + p);
    cell.classList.add("confusion-chosen");
    gallery.hidden = false;
    gallery.querySelector(".confusion-title").textContent =
      members.length + " test image" + (members.length === 1 ? "" : "s") + " of true class " + data.classNames[t] +
      (t === p ? ", predicted correctly" : " predicted as " + data.classNames[p]) +
      (members.length > 1 ? (t === p ? " · least confident first" : " · most confident first") : "");
    const list = gallery.querySelector(".confusion-items");
    list.textContent = "";
    const fragment = document.createDocumentFragment();
    members.forEach(function (index) {
      const item = document.createElement("a");
      item.className = "confusion-item";
      item.href = "explorer.html#pin=" + index;
      item.id = "image-" + index;
      item.dataset.index = String(index);
      if (index === highlight) item.classList.add("confusion-highlight");
      item.appendChild(thumbnail(index));
      const text = document.createElement("span");
      text.textContent = "test image " + index + " · " + data.top[index].map(function (c) {
        return data.classNames[c[0]] + " " + pct(c[1]);
      }).join(", ");
      item.appendChild(text);
      if (data.history) item.title = "test image " + index + ": " + data.history.summaries[data.history.of[index]];
      fragment.appendChild(item);
    });
    list.appendChild(fragment);
    api.lastOpenMs = performance.now() - started;
    api.shown = members.length;
    history.replaceState(null, "", "#cell-" + t + "-" + p + (highlight >= 0 ? "-image-" + highlight : ""));
    if (highlight >= 0) {
      const target = document.getElementById("image-" + highlight);
      if (target) target.scrollIntoView({ block: "center" });
    }
  }
  api.open = open;

  root.querySelectorAll("td[data-true]").forEach(function (cell) {
    const t = Number(cell.dataset.true), p = Number(cell.dataset.pred);
    cell.addEventListener("click", function () { open(t, p, -1); });
    cell.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(t, p, -1); }
    });
  });

  // The hash comes from whoever sent the link: a cell opens only when both classes are in range,
  // anything else leaves the page as it loads, with no cell open.
  function fromHash() {
    const match = /^#cell-(\d+)-(\d+)(?:-image-(\d+))?$/.exec(location.hash);
    const n = data.classNames.length;
    if (match && Number(match[1]) < n && Number(match[2]) < n) {
      open(Number(match[1]), Number(match[2]), match[3] === undefined ? -1 : Number(match[3]));
    }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
