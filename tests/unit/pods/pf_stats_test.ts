import { assert, assertEquals } from "@kodama/test-assert";
import {
  formatPortLine,
  formatUptime,
  type ForwardRecord,
  listRow,
  portAddress,
  portSnapshots,
  RateMeter,
  totalsOf,
} from "../../../src/pods/pf_stats.ts";
import { isAlive, newForwardId, readRecords, writeRecord } from "../../../src/pods/pf_state.ts";
import { describeForwardTarget, splitSecretArgs } from "../../../src/pods/pf_cmd.ts";
import { claim } from "../../../src/base/proc/liveness.ts";

const l = (
  address: string,
  local: number,
  bytesIn: number,
  extra: Partial<{ active: number; errors: number }> = {},
) => ({
  address,
  local,
  remote: 8080,
  pod: "api-1",
  connections: 2,
  active: extra.active ?? 0,
  bytesIn,
  bytesOut: 10,
  errors: extra.errors ?? 0,
});

Deno.test("figures per port: both loopbacks of localhost are one port; rates from successive samples", () => {
  const meter = new RateMeter();
  const first = portSnapshots(
    [l("127.0.0.1", 8080, 100), l("::1", 8080, 50, { active: 1 }), l("127.0.0.1", 9090, 0)],
    meter,
    0,
  );
  assertEquals(first.map((p) => [portAddress(p), p.connections, p.active, p.bytesIn, p.rateIn]), [
    ["localhost:8080", 4, 1, 150, 0],
    ["127.0.0.1:9090", 2, 0, 0, 0],
  ]);
  const later = portSnapshots([l("127.0.0.1", 8080, 2148), l("::1", 8080, 50)], meter, 2000);
  assertEquals(later[0].rateIn, 1024, "2 KiB over 2 s");
  assertEquals(totalsOf(later), { connections: 4, active: 0, bytesIn: 2198, bytesOut: 20, errors: 0 });
  assertEquals(
    formatPortLine(later[0]),
    "localhost:8080 -> pod/api-1:8080  0 active, 4 total, in 2.1 KiB (1.0 KiB/s), out 20 B (0 B/s), 0 errors",
  );
  // sampled again within 200 ms: the last rate stands
  assertEquals(portSnapshots([l("127.0.0.1", 8080, 9999), l("::1", 8080, 50)], meter, 2100)[0].rateIn, 1024);
});

Deno.test("list row and uptime", () => {
  assertEquals([
    formatUptime(5_000),
    formatUptime(125_000),
    formatUptime(3_725_000),
    formatUptime(90_000_000),
  ], [
    "5s",
    "2m5s",
    "1h2m",
    "1d1h",
  ]);
  const ports = portSnapshots([l("127.0.0.1", 40123, 2048)], new RateMeter(), 0);
  const r = {
    id: "k3m9xq",
    pid: 1,
    detached: true,
    target: "svc/api",
    namespace: "prod",
    context: "admin",
    pod: "api-1",
    startedAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
    reconnects: 2,
    ports,
    totals: totalsOf(ports),
  } as ForwardRecord;
  assertEquals(listRow(r, 61_000), [
    "k3m9xq",
    "svc/api",
    "127.0.0.1:40123->8080",
    "api-1",
    "1m1s",
    "2",
    "2.0 KiB",
    "10 B",
    "2",
  ]);
});

Deno.test("ids, credential flags and target names", () => {
  const id = newForwardId();
  assert(/^[a-z2-9]{6}$/.test(id), id);
  assertEquals(
    splitSecretArgs(["--token", "s3cret", "port-forward", "--password=pw", "svc/api", ":80", "--detach"]),
    { args: ["port-forward", "svc/api", ":80", "--detach"], secrets: ["--token", "s3cret", "--password=pw"] },
  );
  assertEquals(describeForwardTarget({ kind: "service", namespace: "prod", name: "api" }), "svc/api");
  assertEquals(
    describeForwardTarget({ kind: "select", flags: { resource: { kind: "deployment", name: "web" } } }),
    "deploy/web",
  );
  assertEquals(
    describeForwardTarget({ kind: "select", flags: { selector: "app=api", match: ["x"] } }),
    "-m x -l app=api",
  );
});

Deno.test("state records: a live process is listed; a gone one's files are removed", async () => {
  const home = await Deno.makeTempDir();
  try {
    const base = {
      detached: false,
      target: "svc/api",
      namespace: "prod",
      context: "admin",
      pod: "api-1",
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      reconnects: 0,
      ports: [],
      totals: { connections: 0, active: 0, bytesIn: 0, bytesOut: 0, errors: 0 },
    };
    // alive = the forward's claim is held (src/base/proc/liveness.ts), whatever its record's pid says
    const held = await claim(`${home}/port-forwards`, "live01");
    assert(held);
    assert(isAlive({ id: "live01" }, home));
    assert(!isAlive({ id: "gone01" }, home));
    await writeRecord({ ...base, id: "live01", pid: Deno.pid }, home);
    // a record whose pid is a live process (this one), but whose forward holds no claim: gone
    await writeRecord({ ...base, id: "gone01", pid: Deno.pid }, home);
    await Deno.writeTextFile(`${home}/port-forwards/gone01.log`, "x");
    assertEquals((await readRecords(home)).map((r) => r.id), ["live01"]);
    assertEquals(
      [...Deno.readDirSync(`${home}/port-forwards`)].map((e) => e.name).filter((n) =>
        !n.startsWith("live01.")
      ),
      [],
    );
    held.release();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("rates are over the last second: a burst shows for a second, then 0", () => {
  const meter = new RateMeter();
  const at = (t: number, v: number) => meter.rate("p", v, t);
  assertEquals(at(0, 0), 0);
  assertEquals(at(250, 0), 0);
  assertEquals(at(500, 1000), 2000, "1000 B since the first sample, 0.5 s ago");
  assertEquals(at(750, 1000), 1000 / 0.75);
  assertEquals(at(1000, 1000), 1000, "the burst is still within the last second");
  assertEquals(at(1250, 1000), 1000, "over the second from 250 ms");
  assertEquals(at(1500, 1000), 0, "a second of silence after the burst");
  assertEquals(at(1750, 3000), 2000);
});
