// Figures in the page's colour scheme: while mkdocs-material's dark scheme (slate) is on, each
// figure (img.figure) that the analysis also drew for it (analyzer/figures.py `darken`) shows that
// variant beside it; the palette toggle switches them back and forth. window.DARK_FIGURES
// (dark_figures.js, from the site renderer) maps each figure that has one to its file, so a page
// never asks for a file that is not there.
(function () {
  "use strict";
  const darkOf = new Map(Object.entries(window.DARK_FIGURES || {}));

  function apply() {
    const dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    document.querySelectorAll("img.figure").forEach(function (img) {
      if (!img.dataset.light) {
        const src = img.getAttribute("src") || "";
        let name;
        try { name = decodeURIComponent(src); } catch { return; }  // a malformed escape: not a figure's name
        if (!darkOf.has(name)) return;
        img.dataset.light = src;
        img.dataset.dark = encodeURI(darkOf.get(name));
      }
      const wanted = dark ? img.dataset.dark : img.dataset.light;
      if (img.getAttribute("src") !== wanted) img.setAttribute("src", wanted);
    });
  }

  apply();
  new MutationObserver(apply).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
})();
