// Short code spans and bold words in table cells (a name, a flag with its value, a shape:
// one token, or at most 24 characters) never wrap, so `--ignore-index I` or
// `'macro-imagewise'` is not split at a hyphen or space; longer spans (calls with
// arguments) wrap, and a table wider than the column scrolls in its own wrapper.
function keepTokensWhole() {
  const cells = ".md-typeset td code, .md-typeset th code, .md-typeset td strong";
  for (const el of document.querySelectorAll(cells)) {
    const text = el.textContent;
    if (text.length <= 24 || !/\s/.test(text)) el.classList.add("anyiou-token");
  }
  // a cell that is one plain token (a case name such as multiclass-N8-C21-512x512)
  for (const td of document.querySelectorAll(".md-typeset td")) {
    const text = td.textContent.trim();
    if (td.children.length === 0 && text && !/\s/.test(text)) td.classList.add("anyiou-token");
  }
}
if (window.document$) {
  window.document$.subscribe(keepTokensWhole);  // Material's page-load stream
} else {
  document.addEventListener("DOMContentLoaded", keepTokensWhole);
}
