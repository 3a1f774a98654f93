/**
 * Picker flags shared by every command that can choose pods interactively:
 *   --pick  --query Q  --select-1  --exit-0  --multi
 * `pickerOptions(cmd)` adds all of them; `pickQueryOptions(cmd)` all but --pick (for `kodama pick`,
 * which always picks). `pickerFlags(opts)` turns parsed options into `pickPods` options.
 */
import type { AnyCommand } from "./flags.ts";

/** --query, --select-1, --exit-0, --multi */
export function pickQueryOptions<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return cmd
    .option("--query <q>", "start the picker with this query (fzf syntax: 'exact ^prefix suffix$ !not a|b)")
    .option("--select-1", "choose automatically when exactly one pod matches the query (no picker)")
    .option("--exit-0", "exit 3 at once when nothing matches the query")
    .option("--multi", "choose several pods (Tab marks a row, Ctrl-A marks every match)");
}

/** --pick plus pickQueryOptions */
export function pickerOptions<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return pickQueryOptions(
    cmd.option("--pick", "choose in the interactive picker even when the match is unambiguous"),
  );
}

export interface PickerFlags {
  pick: boolean;
  multi: boolean;
  query?: string;
  selectOne: boolean;
  exit0: boolean;
}

export function pickerFlags(opts: Record<string, unknown>): PickerFlags {
  return {
    pick: !!opts.pick,
    multi: !!opts.multi,
    query: typeof opts.query === "string" ? opts.query : undefined,
    selectOne: !!opts.select1,
    exit0: !!opts.exit0,
  };
}
