/**
 * Picker flags shared by every command that can choose pods interactively:
 *   --pick  --query Q  --select-1  --exit-0  --multi
 * `pickerOptions(cmd)` adds all of them; `pickQueryOptions(cmd)` all but --pick (for `kodama pick`,
 * which always picks). `pickerFlags(opts)` (src/cli/optspec.ts) turns parsed options into `pickPods` options.
 */
import { addOptions, type AnyCommand } from "./flags.ts";
import { PICK_QUERY_OPTIONS, PICKER_OPTIONS } from "./optspec.ts";

export { type PickerFlags, pickerFlags } from "./optspec.ts";

/** --query, --select-1, --exit-0, --multi */
export function pickQueryOptions<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return addOptions(cmd, PICK_QUERY_OPTIONS);
}

/** --pick plus pickQueryOptions */
export function pickerOptions<A extends unknown[]>(cmd: AnyCommand<A>): AnyCommand<A> {
  return addOptions(cmd, PICKER_OPTIONS);
}
