// MathJax 3 for the whole site (loaded from a CDN when a page is viewed; the build is offline).
// Markdown pages: pymdownx.arithmatex (generic) wraps math in .arithmatex with \( \) and \[ \].
// Lessons: mkdocs-jupyter leaves $...$ and $$...$$ in .jp-RenderedMarkdown cells.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown"
  }
};
document$.subscribe(() => {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
