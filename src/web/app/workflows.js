// The workflows page (discovered workflows, parameters, runs with live output, the trust dialog).
import { html } from "./html.js";

export function WorkflowsPage() {
  return html`
    <section class="page">
      <h1>Workflows</h1>
      <div class="empty">Coming in the next step.</div>
    </section>
  `;
}
