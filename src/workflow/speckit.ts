/**
 * What step kinds build their spec schemas from (types.ts `SpecKit`): zod and the shared Duration. A module
 * of its own, so that the engine's run-time check of a resolved spec (engine.ts `checkSpec`) loads zod and
 * this, not the whole workflow schema and every step kind with it.
 */
import { z } from "zod";
import { DURATION_EXAMPLES, DURATION_EXAMPLES_TEXT, DURATION_RE } from "../base/duration.ts";
import type { SpecKit, StepKind } from "./types.ts";

/** A duration in the shared grammar of `src/base/duration.ts`, or a non-negative number of seconds. */
export const Duration = z.union([
  z.string().regex(DURATION_RE, { error: `expected a duration such as ${DURATION_EXAMPLES_TEXT}` }),
  z.number().nonnegative(),
]).describe(`a duration: ${DURATION_EXAMPLES.join(", ")}, or a number of seconds`);

/** The kit; `step` is the schema used for nested steps. */
export function specKit(step: z.ZodType): SpecKit {
  return { z, step, Duration };
}

/** A kind's spec schema, with nested steps taken as they are (they are checked one by one). */
export function kindSchema(k: StepKind): z.ZodType {
  return k.spec(specKit(z.any()));
}
