/**
 * The "N things match and a choice is needed" error (exit 2), built in one place: the picker's no-terminal
 * branch and `choosePods` (src/pods/choose.ts) both throw it. It lists up to `MAX_CANDIDATES` names.
 * Loads nothing but errors.ts, so the everyday path may import it up front.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";

export const MAX_CANDIDATES = 10;

export interface ChoiceNeeded {
  /** what is being chosen (default "pod"), pluralised with an s */
  noun?: string;
  /** the query the names matched, quoted in the message */
  query?: string;
  /** what decides without a terminal: flags, a narrower match */
  hint: string;
}

/** `3 pods match "api" and a choice is needed: a, b, c` with up to 10 names, then `… (N more)`. */
export function choiceNeeded(names: string[], o: ChoiceNeeded): KodamaError {
  const n = names.length;
  const noun = o.noun ?? "pod";
  const more = n > MAX_CANDIDATES ? `, … (${n - MAX_CANDIDATES} more)` : "";
  return new KodamaError(
    `${n} ${noun}${n === 1 ? "" : "s"} match${n === 1 ? "es" : ""}${
      o.query ? ` ${JSON.stringify(o.query)}` : ""
    } ` +
      `and a choice is needed: ${names.slice(0, MAX_CANDIDATES).join(", ")}${more}`,
    ExitCode.USAGE,
    o.hint,
  );
}
