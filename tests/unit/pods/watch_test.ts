/** The pure parts of `kodama pods -w`: kubectl's growing table widths, event filtering, watch framing. */
import { assertEquals } from "@kodama/test-assert";
import type { V1Pod } from "@kubernetes/client-node";
import { clientMatcher, EventFilter, GrowingTable, sortKeys, WatchPrinter } from "../../../src/pods/watch.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function pod(name: string, phase = "Running", rv = "1", labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: "prod",
      resourceVersion: rv,
      labels,
      creationTimestamp: new Date(NOW - 30_000),
    },
    spec: { containers: [{ name: "main" }] },
    status: {
      phase,
      containerStatuses: [{
        name: "main",
        ready: phase === "Running",
        restartCount: 0,
        image: "",
        imageID: "",
        state: phase === "Running" ? { running: {} } : { waiting: { reason: "ContainerCreating" } },
      }],
    },
  };
}

Deno.test("GrowingTable: widths from the first batch, then only wider (kubectl's watch look)", () => {
  const t = new GrowingTable(["NAME", "READY", "STATUS", "AGE"]);
  assertEquals(
    t.render([["p4", "0/1", "Pending", "0s"]]),
    "NAME   READY   STATUS    AGE\n" +
      "p4     0/1     Pending   0s\n",
  );
  // a wider cell widens its column from this row on; earlier rows stay as printed
  assertEquals(
    t.render([["p4", "0/1", "ContainerCreating", "0s"]]),
    "p4     0/1     ContainerCreating   0s\n",
  );
  assertEquals(t.render([["p4", "1/1", "Running", "1s"]]), "p4     1/1     Running             1s\n");
  assertEquals(t.render([]), "");
  // kubectl's tabwriter: a cell is at least 6 wide
  assertEquals(new GrowingTable(["A", "B"]).render([["x", "y"]]), "A     B\nx     y\n");
});

Deno.test("EventFilter: label-selector semantics for client-side filters", () => {
  const f = new EventFilter(clientMatcher({ match: ["api"], includeNotReady: false }));
  f.seed([pod("api-1", "Running", "5")]);
  assertEquals(f.accept("ADDED", pod("web-1", "Running", "6")), undefined, "never matched: not shown");
  assertEquals(f.accept("ADDED", pod("api-2", "Pending", "7")), undefined, "not Running yet");
  assertEquals(f.accept("MODIFIED", pod("api-2", "Running", "8")), "ADDED", "starts matching");
  assertEquals(f.accept("MODIFIED", pod("api-2", "Running", "9")), "MODIFIED");
  assertEquals(f.accept("MODIFIED", pod("api-2", "Failed", "10")), "DELETED", "stops matching");
  assertEquals(f.accept("MODIFIED", pod("api-2", "Failed", "11")), undefined);
  assertEquals(f.accept("DELETED", pod("api-2", "Failed", "12")), undefined, "already gone");
  assertEquals(
    f.accept("MODIFIED", pod("api-1", "Running", "13")),
    "MODIFIED",
    "seeded pods change as MODIFIED",
  );
  // a 410 restart replays ADDED: the same version shows nothing, a newer one is a change
  assertEquals(f.accept("ADDED", pod("api-1", "Running", "13")), undefined);
  assertEquals(f.accept("ADDED", pod("api-1", "Running", "14")), "MODIFIED");
  assertEquals(f.accept("DELETED", pod("api-1", "Running", "15")), "DELETED");
});

Deno.test("WatchPrinter: EVENT column padded to 8, -A, name, json and yaml framing", () => {
  const ev = new WatchPrinter("table", { allNamespaces: true, events: true });
  assertEquals(
    ev.render([["ADDED", pod("api-1")]], NOW),
    "EVENT      NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE\n" +
      "ADDED      prod        api-1   1/1     Running   0          30s\n",
  );
  assertEquals(
    ev.render([["DELETED", pod("api-1")]], NOW + 5000),
    "DELETED    prod        api-1   1/1     Running   0          35s\n",
  );
  assertEquals(
    new WatchPrinter("name", { allNamespaces: false, events: true }).render([["ADDED", pod("a")]]),
    "pod/a\n",
  );
  const json = new WatchPrinter("json", { allNamespaces: false, events: false });
  const out = json.render([["ADDED", pod("a")], ["MODIFIED", pod("a", "Running", "2")]]);
  assertEquals(out.split("\n}\n{\n").length, 2, "two consecutive objects");
  assertEquals(out.split("\n")[1], '    "apiVersion": "v1",');
  const evJson = new WatchPrinter("json", { allNamespaces: false, events: true }).render([[
    "DELETED",
    pod("a"),
  ]]);
  assertEquals(JSON.parse(evJson).type, "DELETED");
  assertEquals(evJson.indexOf("\n"), evJson.length - 1, "one line per event");
  const yaml = new WatchPrinter("yaml", {
    allNamespaces: false,
    events: false,
    yaml: (v) => `${Object.keys(v as object)}\n`,
  });
  assertEquals(
    yaml.render([["ADDED", pod("a")]]) + yaml.render([["ADDED", pod("b")]]),
    "apiVersion,kind,metadata,spec,status\n---\napiVersion,kind,metadata,spec,status\n",
  );
  assertEquals(JSON.stringify(sortKeys({ b: 1, a: [{ d: 1, c: 2 }] })), '{"a":[{"c":2,"d":1}],"b":1}');
});
