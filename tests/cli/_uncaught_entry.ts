/**
 * An entry point for error_style_test.ts: kodama's last-resort handlers (main.ts `lastWords`), then an error
 * nothing catches — thrown in a timer, a KodamaError in a timer, a promise nobody awaited.
 */
import { lastWords } from "../../main.ts";
import { KodamaError } from "../../src/base/errors.ts";

lastWords(["pods"], Deno.args);
const kind = Deno.args[0];
if (kind === "timer") {
  setTimeout(() => {
    throw new Error("boom in a timer\nat a second line");
  }, 0);
}
if (kind === "kodama") {
  setTimeout(() => {
    throw new KodamaError("no such thing", 3, "try another");
  }, 0);
}
if (kind === "rejection") Promise.reject(new TypeError("nobody awaited this"));
