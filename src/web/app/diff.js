// diff2html (with highlight.js): a chunk of its own, loaded when a diff is first drawn (session.js DiffView),
// so the list pages never parse it.
import { Diff2HtmlUI } from "diff2html/lib-esm/ui/js/diff2html-ui-slim.js";

/** A unified diff drawn into `box` per file, with syntax highlighting. */
export function drawDiff(box, diff) {
  const ui = new Diff2HtmlUI(box, diff, {
    drawFileList: true,
    matching: "lines",
    outputFormat: "line-by-line",
    highlight: true,
    colorScheme: matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light",
    fileListToggle: false,
    fileContentToggle: false,
  });
  ui.draw();
  ui.highlightCode();
}
