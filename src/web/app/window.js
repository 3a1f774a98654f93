// Tables draw only the rows in view, and a few either side: a keystroke in a search box redraws the same
// twenty-odd rows whether the list holds 30 or 3,000 (it used to draw lists of up to 100 whole, and a keystroke
// that went from a long list to a 100-row one built 70 rows: 80-250 ms). The page stays as long as the whole
// list (spacer rows above and below).
import { html } from "./html.js";
import { useEffect, useRef, useState } from "preact/hooks";

/** Rows drawn beyond each edge of the view (each costs every keystroke; ten made a keystroke ~20 % dearer). */
const OVERSCAN = 4;

/**
 * The rows of a `count`-row table body to draw: `{ ref, first, last, top, bottom }`, with `ref` for the
 * <tbody> and `top`/`bottom` the heights the spacer rows keep. Rows have one height (the CSS keeps them so),
 * read from the first row drawn, again at each scroll and resize (a narrow window's rows are taller).
 */
export function useWindow(count) {
  const ref = useRef(null);
  const rowHeight = useRef(0);
  const [, setMeasured] = useState(0);
  const measure = useRef(null);
  const [range, setRange] = useState(() => [0, Math.ceil(innerHeight / 30) + OVERSCAN]);
  useEffect(() => {
    let frame = 0;
    const update = () => {
      frame = 0;
      const body = ref.current;
      if (!body) return;
      // read again each time: the CSS gives the rows another height in another window width
      const row = body.querySelector("tr:not(.spacer-row)");
      const measured = row?.getBoundingClientRect().height || 0;
      if (measured && measured !== rowHeight.current) {
        rowHeight.current = measured;
        setMeasured(measured);
      }
      if (!rowHeight.current) return;
      const h = rowHeight.current;
      const top = body.getBoundingClientRect().top;
      const first = Math.max(0, Math.floor(-top / h) - OVERSCAN);
      const last = Math.max(0, Math.ceil((innerHeight - top) / h) + OVERSCAN);
      setRange((r) => (r[0] === first && r[1] === last ? r : [first, last]));
    };
    const soon = () => {
      frame ||= requestAnimationFrame(update);
    };
    measure.current = soon;
    soon();
    addEventListener("scroll", soon, { passive: true, capture: true });
    addEventListener("resize", soon);
    return () => {
      removeEventListener("scroll", soon, { capture: true });
      removeEventListener("resize", soon);
      cancelAnimationFrame(frame);
    };
  }, []);
  // the rows' height is read from the first row drawn, which may come after the first render (an empty list
  // draws no table)
  const drawn = count > 0;
  useEffect(() => {
    if (drawn && !rowHeight.current) measure.current?.();
  }, [drawn]);
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
