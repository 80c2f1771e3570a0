// Opened from the file system (file://), mkdocs-material's search cannot start its web worker and
// its box would find nothing: mark the page so report.css hides the box there; over http it stays.
if (location.protocol === "file:") document.documentElement.classList.add("file-protocol");
