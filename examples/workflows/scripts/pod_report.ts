// A script step (see ../pod-report.yaml). `kodama/sdk` is resolved by kodama's import map;
// the import is only for types and `defineStep` — a plain `export default async (ctx) => {}` works too.
import { defineStep } from "kodama/sdk";

export default defineStep(async ({ host, inputs }) => {
  const pods = await host.listPods("all");
  const byPhase: Record<string, number> = {};
  for (const p of pods) byPhase[p.phase ?? "Unknown"] = (byPhase[p.phase ?? "Unknown"] ?? 0) + 1;
  const summary = `${inputs.title}: ${pods.length} (${
    Object.entries(byPhase).map(([k, v]) => `${k} ${v}`).join(", ")
  })`;
  console.log(summary);
  return { total: pods.length, byPhase, summary };
});
