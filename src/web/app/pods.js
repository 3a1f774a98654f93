// The pods page (search with the picker's fzf matcher, logs, exec, port-forwards).
import { html } from "./html.js";

export function PodsPage() {
  return html`
    <section class="page">
      <h1>Pods</h1>
      <div class="empty">Coming in the next step.</div>
    </section>
  `;
}
