/** `kwekash …` = `kodama run kwekash …`, so the old wrapper keeps working. */
import { main } from "../main.ts";
await main(Deno.args, "kwekash");
