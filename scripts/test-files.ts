/**
 * The test modules `deno task test` runs, in order, one per line (tests/_files.ts says which and why):
 * every `*_test.ts` under tests/ except tests/unit/, whose files run as the shards tests/shards/unitK.ts.
 */
import { thisRunOrder } from "../tests/_files.ts";

console.log(thisRunOrder().join("\n"));
