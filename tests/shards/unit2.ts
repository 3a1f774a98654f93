// The unit tests, shard 2 of tests/_files.ts SHARDS: not a `_test.ts` name, so only `deno task test` runs it.
import { loadShard } from "../_files.ts";

await loadShard(2);
