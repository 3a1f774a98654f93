// Long tables draw only the rows in view, and a screenful either side: a keystroke in a search box redraws
// tens of rows, not thousands, and the page stays as long as the whole list (spacer rows above and below).
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";

/** Lists up to this long are drawn whole (the browser's find in page sees every row). */
export const WINDOW_FROM = 100;
/** Rows drawn beyond each edge of the view. */
const OVERSCAN = 10;

/**
 * The rows of a `count`-row table body to draw: `{ ref, first, last, top, bottom }`, with `ref` for the
 * <tbody> and `top`/`bottom` the heights the spacer rows keep. Rows have one height (the CSS keeps them so),
 * read from the first row drawn.
 */
export function useWindow(count) {
  const ref = useRef(null);
  const rowHeight = useRef(0);
  const [, setMeasured] = useState(0);
  const windowed = count > WINDOW_FROM;
  const [range, setRange] = useState(() => [0, Math.ceil(innerHeight / 30) + OVERSCAN]);
  useEffect(() => {
    if (!windowed) return;
    let frame = 0;
    const update = () => {
      frame = 0;
      const body = ref.current;
      if (!body) return;
      if (!rowHeight.current) {
        const row = body.querySelector("tr:not(.spacer-row)");
        rowHeight.current = row?.getBoundingClientRect().height || 0;
        if (!rowHeight.current) return;
        setMeasured(rowHeight.current);
      }
      const h = rowHeight.current;
      const top = body.getBoundingClientRect().top;
      const first = Math.max(0, Math.floor(-top / h) - OVERSCAN);
      const last = Math.ceil((innerHeight - top) / h) + OVERSCAN;
      setRange((r) => (r[0] === first && r[1] === last ? r : [first, last]));
    };
    const soon = () => {
      frame ||= requestAnimationFrame(update);
    };
    soon();
    addEventListener("scroll", soon, { passive: true, capture: true });
    addEventListener("resize", soon);
    return () => {
      removeEventListener("scroll", soon, { capture: true });
      removeEventListener("resize", soon);
      cancelAnimationFrame(frame);
    };
  }, [windowed]);
  if (!windowed) return { ref, first: 0, last: count, top: 0, bottom: 0 };
  const last = Math.min(count, range[1]);
  const first = Math.min(range[0], last);
  const h = rowHeight.current || 0;
  return { ref, first, last, top: first * h, bottom: (count - last) * h };
}

/** A row that only keeps the height of the rows not drawn. */
export function Spacer({ height, cols }) {
  return height > 0
    ? html`
      <tr class="spacer-row" aria-hidden="true" style=${`height: ${height}px`}>
        <td colspan=${cols}></td>
      </tr>
    `
    : null;
}
