/**
 * `kubectl_complete-kodama WORDS…` = `kodama __complete WORDS…` (installed by `deno task install`):
 * kubectl 1.26+ runs it to complete `kubectl kodama <TAB>`.
 */
import { main } from "../main.ts";
await main(Deno.args, "complete");
