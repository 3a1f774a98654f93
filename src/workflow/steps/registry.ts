/**
 * The step registry: every step kind is one module exporting a `StepKind`; adding a kind means
 * writing that module and adding it here. The schema, the loader, `--dry-run` and the engine
 * all read this table.
 */
import type { StepKind } from "../types.ts";
import { exec } from "./exec.ts";
import { pick } from "./pick.ts";
import { tmux } from "./tmux.ts";
import { logs } from "./logs.ts";
import { cp } from "./cp.ts";
import { portForward } from "./port_forward.ts";
import { wait } from "./wait.ts";
import { local } from "./local.ts";
import { script } from "./script.ts";
import { workflow } from "./workflow.ts";
import { parallel } from "./parallel.ts";

export const KINDS: Record<string, StepKind> = Object.fromEntries(
  [exec, pick, tmux, logs, cp, portForward, wait, local, script, workflow, parallel].map((k) => [k.name, k]),
);

export const KIND_NAMES: string[] = Object.keys(KINDS);
