/** `kpod …` = `kodama exec …` (installed by `deno task install`). */
import { main } from "../main.ts";
await main(Deno.args, "kpod");
