/**
 * Name each test's real file in a `deno test --junit-path` report (issue #63): Deno names the file that
 * called `Deno.test`, and for most of the suite that is the wrapper (tests/_timeout.ts, which gives every
 * cluster test its time limit, and tests/_side_by_side.ts, which runs a family as steps of one test), so a
 * report's slowest cases all read `./tests/_timeout.ts`. This rewrites such a case's `classname` to the test
 * file whose source holds the test's name (a step goes with its test); a name found in no file, or in more
 * than one, is left as it was. `.ci/run` runs it on CI's report:
 *
 *   deno run -A scripts/junit-files.ts REPORT.xml [TESTS_DIR]
 */
import { join, relative } from "node:path";

/** The files whose tests Deno credits to the wrapper that registered them. */
export const WRAPPERS = /(^|\/)tests\/(_timeout|_side_by_side|_env_lock)\.ts$/;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const unescapeXml = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e) => ENTITIES[e]);

/**
 * The one file of `sources` (path → text) that holds `name`, or a long enough start of it (a name built
 * with `${…}` is found by what comes before), else undefined. A step's name is its test's. Pure.
 */
export function fileOf(name: string, sources: Map<string, string>): string | undefined {
  const test = name.split(" > ")[0];
  for (const probe of [test, test.slice(0, 60), test.slice(0, 40)]) {
    if (probe.length < 20 && probe !== test) continue;
    const hits = [...sources].filter(([, text]) => text.includes(probe)).map(([path]) => path);
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) return undefined;
  }
  return undefined;
}

/** The report with each wrapper-credited case's classname replaced by its test's file (`./tests/…`). Pure. */
export function relabel(xml: string, sources: Map<string, string>): string {
  return xml.replace(
    /<testcase name="([^"]*)" classname="([^"]*)"/g,
    (whole, name: string, classname: string) => {
      if (!WRAPPERS.test(classname)) return whole;
      const file = fileOf(unescapeXml(name), sources);
      return file ? `<testcase name="${name}" classname="./${file}"` : whole;
    },
  );
}

async function testSources(root: string, dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory && !e.name.startsWith(".")) await walk(p);
      else if (e.isFile && /_test\.ts$/.test(e.name)) out.set(relative(root, p), await Deno.readTextFile(p));
    }
  };
  await walk(dir);
  return out;
}

if (import.meta.main) {
  const [report, tests = "tests"] = Deno.args;
  if (!report) {
    console.error("usage: deno run -A scripts/junit-files.ts REPORT.xml [TESTS_DIR]");
    Deno.exit(2);
  }
  const root = Deno.cwd();
  const xml = await Deno.readTextFile(report);
  await Deno.writeTextFile(report, relabel(xml, await testSources(root, join(root, tests))));
}
