import { assertEquals } from "@kodama/test-assert";
import { Reachability, type ReachEvent } from "../../../src/kube/reach.ts";
import { KodamaError } from "../../../src/base/errors.ts";

Deno.test("reachability: one lost and one back event however many failures; never before a first answer", () => {
  let now = 0;
  const r = new Reachability("the API server https://x:1 (context c)", () => now);
  const seen: string[] = [];
  r.subscribe((e: ReachEvent) =>
    seen.push(e.type === "lost" ? `lost ${e.error.message}` : `back ${e.downMs}`)
  );
  const refused = new KodamaError("cannot reach https://x:1 (context c): connection refused");
  // a server never reached: commands fail on their first request, nobody is told it was "lost"
  r.lost(refused);
  assertEquals(seen, []);
  r.reached();
  assertEquals(seen, []);
  now = 1000;
  r.lost(refused);
  r.lost(refused);
  now = 4000;
  assertEquals(r.down, true);
  assertEquals(
    r.describe(),
    "the API server https://x:1 (context c) has been unreachable for 3s (connection refused)",
  );
  r.reached();
  r.reached();
  assertEquals(seen, [`lost ${refused.message}`, "back 3000"]);
});

Deno.test("reachability: gives up after giveUpMs (exit 1, naming the server and why); 0 never gives up", () => {
  let now = 0;
  const r = new Reachability("the API server https://x:1 (context c)", () => now);
  r.reached();
  r.giveUpMs = 5000;
  r.lost(new KodamaError("TLS handshake with https://x:1 (context c) failed: self-signed certificate"));
  now = 4999;
  assertEquals(r.gaveUp(), undefined);
  now = 5000;
  const e = r.gaveUp()!;
  assertEquals(e.code, 1);
  assertEquals(
    e.message,
    "gave up: the API server https://x:1 (context c) has been unreachable for 5s (self-signed certificate)",
  );
  r.giveUpMs = 0;
  now = 1e9;
  assertEquals(r.gaveUp(), undefined);
});
