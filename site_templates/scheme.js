// Figures in the page's colour scheme: while mkdocs-material's dark scheme (slate) is on, each
// figure (img.figure) that the analysis also drew for it (analyzer/figures.py `darken`) shows that
// variant, NAME.dark.png or NAME.dark.gif, beside it; the palette toggle switches them back and
// forth. window.DARK_FIGURES (dark_figures.js, from the site renderer) names the figures that have
// one, so a page never asks for a file that is not there.
(function () {
  "use strict";
  const withDark = new Set(window.DARK_FIGURES || []);

  function apply() {
    const dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    document.querySelectorAll("img.figure").forEach(function (img) {
      if (!img.dataset.light) {
        const src = img.getAttribute("src") || "";
        let name;
        try { name = decodeURIComponent(src); } catch { return; }  // a malformed escape: not a figure's name
        if (!withDark.has(name)) return;
        img.dataset.light = src;
      }
      const wanted = dark ? img.dataset.light.replace(/(\.[a-z]+)$/i, ".dark$1") : img.dataset.light;
      if (img.getAttribute("src") !== wanted) img.setAttribute("src", wanted);
    });
  }

  apply();
  new MutationObserver(apply).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
})();
