import { assertEquals } from "@kodama/test-assert";
import { compressNames, formatGroups, groupResults, outcome } from "../../../src/pods/group.ts";
import type { PodResult } from "../../../src/pods/summary.ts";
import { fanoutExitCode, formatSummary, tally } from "../../../src/pods/summary.ts";
import { prefixLabel } from "../../../src/pods/lines.ts";

const load = (n: number) => `load-${String(n).padStart(3, "0")}`;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

Deno.test("compressNames: pdsh host lists", () => {
  assertEquals(compressNames(range(0, 19).map(load)), "load-[000-019]");
  assertEquals(
    compressNames(range(0, 99).filter((n) => n !== 42).map(load)),
    "load-[000-041,043-099]",
  );
  assertEquals(compressNames([load(42)]), "load-042");
  assertEquals(compressNames(["web-1", "web-3", "web-2", "web-7"]), "web-[1-3,7]");
  // unpadded numbers of different widths join; a padded width keeps an unpadded number of that width
  assertEquals(compressNames(["node-9", "node-10", "node-11"]), "node-[9-11]");
  assertEquals(compressNames(["load-099", "load-100", "load-101"]), "load-[099-101]");
  // padded and unpadded of other widths stay apart
  assertEquals(compressNames(["x-01", "x-02", "x-3"]), "x-[01-02],x-3");
  // names without a trailing number are listed as they are; several prefixes are joined with commas
  assertEquals(
    compressNames(["api-6b7f9c8d4-q7m4t", "weka-drive-1", "api-6b7f9c8d4-k2x9p", "weka-drive-0"]),
    "api-6b7f9c8d4-k2x9p,api-6b7f9c8d4-q7m4t,weka-drive-[0-1]",
  );
  // namespaces and contexts are part of the prefix
  assertEquals(
    compressNames(["c1:load/load-000", "c1:load/load-001", "c2:load/load-000"]),
    "c1:load/load-[000-001],c2:load/load-000",
  );
  assertEquals(compressNames(["a-1", "a-1"]), "a-1");
  assertEquals(compressNames([]), "");
});

function r(
  pod: string,
  output: string,
  status: PodResult["status"] = "ok",
  exitCode: number | null = 0,
): PodResult {
  return { namespace: "load", pod, container: "main", exitCode, durationMs: 1, status, output };
}

Deno.test("groupResults: identical output and outcome fold; largest group first", () => {
  const results = [
    ...range(0, 19).filter((n) => n !== 7).map((n) => r(load(n), "same\n")),
    r(load(7), "odd\n", "failed", 3),
    r("load-020", "same\n", "failed", 1), // same output, other exit: its own group
    { ...r("load-021", ""), status: "error" as const, exitCode: null, error: "stream dropped" },
  ];
  const groups = groupResults(results, (x) => x.pod);
  assertEquals(groups.map((g) => [compressNames(g.names), g.names.length, g.outcome]), [
    ["load-[000-006,008-019]", 19, "exit 0"],
    ["load-007", 1, "exit 3"],
    ["load-020", 1, "exit 1"],
    ["load-021", 1, "error: stream dropped"],
  ]);
  assertEquals(
    formatGroups(groups.slice(0, 2)),
    [
      "----------------",
      "load-[000-006,008-019] (19) exit 0",
      "----------------",
      "same",
      "----------------",
      "load-007 (1) exit 3",
      "----------------",
      "odd",
      "",
    ].join("\n"),
  );
  assertEquals(formatGroups(groups.slice(3)).split("\n")[3], "(no output)");
  assertEquals(
    outcome({ ...r("x", ""), status: "timeout", error: "timed out after 5s" }),
    "timed out after 5s",
  );
});

Deno.test("several contexts: the context leads the label; a failed context is in the summary and the exit code", () => {
  assertEquals(
    prefixLabel({ context: "c1", namespace: "load", pod: "p", container: "c" }, {
      namespace: false,
      container: false,
    }),
    "c1:p",
  );
  assertEquals(
    prefixLabel({ namespace: "load", pod: "p", container: "c" }, { namespace: true, container: true }),
    "load/p/c",
  );
  const t = tally([{ ...r("p", ""), context: "c1" }]);
  t.clusterErrors = [{
    context: "c2",
    message: "cannot reach https://127.0.0.1:1 (context c2): connection refused",
    code: 1,
  }];
  const s = formatSummary(t, { label: (x) => `${x.context}:${x.pod}` });
  assertEquals(s.split("\n")[0].startsWith("1 pod: 1 ok, 0 failed"), true);
  assertEquals(s.split("\n")[0].endsWith("; 1 context failed"), true);
  assertEquals(s.split("\n")[1], "  c2: cannot reach https://127.0.0.1:1 (context c2): connection refused");
  assertEquals(fanoutExitCode(t), 1);
  t.clusterErrors[0].code = 4;
  assertEquals(fanoutExitCode(t), 4, "forbidden alone gives 4");
});
