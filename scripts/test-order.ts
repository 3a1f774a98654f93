/**
 * The test files `deno task test` starts first, longest first (issue #63). `deno test --parallel` takes files
 * in the order it is given them (a file named twice runs once, where first named), one per free job: with
 * `tests/` alone that is by name, and a long file that starts late holds the run's end while the other jobs
 * sit idle. Naming the long files first leaves the short ones to fill the end.
 *
 * `tests/durations.json` holds the seconds of each file that took 20 s or more in a whole run, from its JUnit
 * report (after scripts/junit-files.ts named each case's own file). A file missing from it (new, renamed)
 * simply runs in its place by name; a file listed that no longer exists is left out.
 *
 *   deno run -A scripts/test-order.ts                      # the files, one per line, longest first
 *   deno run -A scripts/test-order.ts --update REPORT.xml  # tests/durations.json from a report
 */
import { WRAPPERS } from "./junit-files.ts";

/** A file's share of the run worth starting early. */
export const LONG_S = 20;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e) => ENTITIES[e]);

/**
 * Seconds per test file (`tests/…`) of a JUnit report: its tests' times, not their steps' (a step's time is in
 * its test's); files under LONG_S and the wrappers' own entries left out. Pure.
 */
export function durationsOf(xml: string): Record<string, number> {
  const sum = new Map<string, number>();
  for (const m of xml.matchAll(/<testcase name="([^"]*)" classname="([^"]*)" time="([\d.]+)"/g)) {
    if (unescapeXml(m[1]).includes(" > ")) continue;
    const file = m[2].replace(/^\.\//, "");
    if (WRAPPERS.test(file)) continue;
    sum.set(file, (sum.get(file) ?? 0) + Number(m[3]));
  }
  const long = [...sum].filter(([, s]) => s >= LONG_S).sort((a, b) =>
    b[1] - a[1] || a[0].localeCompare(b[0])
  );
  return Object.fromEntries(long.map(([f, s]) => [f, Math.round(s)]));
}

/** The files of `durations` that `exists`, longest first (by name between equals). Pure. */
export function longFirst(durations: Record<string, number>, exists: (file: string) => boolean): string[] {
  return Object.entries(durations)
    .filter(([f]) => exists(f))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([f]) => f);
}

if (import.meta.main) {
  const table = new URL("../tests/durations.json", import.meta.url);
  if (Deno.args[0] === "--update") {
    const report = Deno.args[1];
    if (!report) {
      console.error("usage: deno run -A scripts/test-order.ts --update REPORT.xml");
      Deno.exit(2);
    }
    const d = durationsOf(await Deno.readTextFile(report));
    await Deno.writeTextFile(table, JSON.stringify(d, null, 2) + "\n");
    console.error(`tests/durations.json: ${Object.keys(d).length} files of ${LONG_S} s or more`);
  } else {
    const root = new URL("../", import.meta.url);
    const exists = (f: string) => {
      try {
        return Deno.statSync(new URL(f, root)).isFile;
      } catch {
        return false;
      }
    };
    let durations: Record<string, number> = {};
    try {
      durations = JSON.parse(await Deno.readTextFile(table));
    } catch { /* no table: every file by name */ }
    for (const f of longFirst(durations, exists)) console.log(f);
  }
}
