/**
 * The step kinds by name, each module loaded when it is first needed: the engine loads only the
 * kinds a workflow uses (a `wait` step's pod watcher, a `script` step's sandbox and so on stay
 * unloaded for a workflow of one `exec`). registry.ts loads them all, for the loader and the schema.
 */
import type { StepKind } from "../types.ts";

const LOADERS: Record<string, () => Promise<StepKind>> = {
  exec: () => import("./exec.ts").then((m) => m.exec),
  pick: () => import("./pick.ts").then((m) => m.pick),
  tmux: () => import("./tmux.ts").then((m) => m.tmux),
  logs: () => import("./logs.ts").then((m) => m.logs),
  cp: () => import("./cp.ts").then((m) => m.cp),
  "port-forward": () => import("./port_forward.ts").then((m) => m.portForward),
  wait: () => import("./wait.ts").then((m) => m.wait),
  local: () => import("./local.ts").then((m) => m.local),
  script: () => import("./script.ts").then((m) => m.script),
  workflow: () => import("./workflow.ts").then((m) => m.workflow),
  parallel: () => import("./parallel.ts").then((m) => m.parallel),
  session: () => import("./session.ts").then((m) => m.session),
};

/** The step kinds, in the order `kodama workflow schema` and messages list them (model.ts re-exports it). */
export const KIND_NAMES: readonly string[] = Object.keys(LOADERS);

/** The step kind named `name` (one of model.ts KIND_NAMES). */
export function stepKind(name: string): Promise<StepKind> {
  const load = LOADERS[name];
  if (!load) throw new Error(`no step kind ${name}`);
  return load();
}
