// MathJax 3 for the whole site, served by the site itself: assets/mathjax/tex-chtml.js is copied
// from the django-static-mathjax package by docs/_hooks/toyrd_docs.py, so nothing is fetched when
// a page is viewed (offline, file:// or a local server alike). This file must load before it.
// - Markdown pages: pymdownx.arithmatex (generic) writes \( \) and \[ \] into .arithmatex.
// - Lessons: mkdocs-jupyter leaves $...$ and $$...$$ in the text of .jp-RenderedMarkdown cells.
// - The table of contents repeats headings with either kind.
// So MathJax reads the whole page; it skips code, pre, script and the like by itself. An element
// with class "tex2jax_ignore" is left alone. (Restricting MathJax with ignoreHtmlClass ".*|"
// fails: that pattern matches every element, the <p> inside a lesson cell included.)
// Every page is a full load (no navigation.instant), so MathJax's own start-up typeset is all a
// page needs.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: "tex2jax_ignore"
  }
};
