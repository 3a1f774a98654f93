/**
 * The step registry: every step kind is one module exporting a `StepKind`; adding a kind means
 * writing that module and adding its loader to kinds.ts. The schema and the loader read this table,
 * with every kind loaded; the engine loads kinds one by one as steps need them (kinds.ts).
 */
import type { StepKind } from "../types.ts";
import { KIND_NAMES, stepKind } from "./kinds.ts";

export { KIND_NAMES };

export const KINDS: Record<string, StepKind> = Object.fromEntries(
  await Promise.all(KIND_NAMES.map(async (name) => [name, await stepKind(name)] as const)),
);
