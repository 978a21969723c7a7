// Click-to-enlarge for every figure of the site, offline (no library): an <img> in the content
// or an inline SVG figure of a lesson that is not already inside a link opens over the page at
// the size of the window; a click anywhere or Escape closes it. Each such figure is marked
// data-toyrd-zoom (docs/scripts/check_site.py checks that every figure can be enlarged).
(function () {
  function open(fig) {
    const overlay = document.createElement("div");
    overlay.className = "toyrd-zoom-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "enlarged figure; click or press Escape to close");
    const big = fig.cloneNode(true);
    big.removeAttribute("data-toyrd-zoom");
    big.removeAttribute("width");
    big.removeAttribute("height");
    overlay.appendChild(big);
    function close() {
      overlay.remove();
      document.removeEventListener("keydown", onKey);
      fig.focus();
    }
    function onKey(ev) { if (ev.key === "Escape") close(); }
    overlay.addEventListener("click", close);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
  }
  function arm() {
    const figs = document.querySelectorAll(
      ".md-content img, .md-content .jp-RenderedSVG svg, .md-content svg.toyrd-figure");
    figs.forEach(fig => {
      if (fig.closest("a[href]") || fig.hasAttribute("data-toyrd-zoom")) return;
      fig.setAttribute("data-toyrd-zoom", "");
      fig.setAttribute("tabindex", "0");
      fig.setAttribute("role", "button");
      fig.setAttribute("title", "click to enlarge");
      fig.addEventListener("click", () => open(fig));
      fig.addEventListener("keydown", ev => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(fig); }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", arm);
  else arm();
})();
