/**
 * The docs tell users the truth (#27): no notes to the team left in them (an HTML comment addressed to an
 * engineer, a TODO), and no claim that a feature "has not landed yet" — a user cannot tell when that stops
 * being true, and it was false the day it was found.
 */
import { assertEquals } from "@kodama/test-assert";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function markdownFiles(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "vendor") continue;
    const p = join(dir, e.name);
    if (e.isDirectory) await markdownFiles(p, out);
    else if (e.isFile && e.name.endsWith(".md")) out.push(p);
  }
  return out;
}

/** Problems in one Markdown text: `line: what`. */
export function docProblems(text: string): string[] {
  const out: string[] = [];
  const lineOf = (i: number) => text.slice(0, i).split("\n").length;
  for (const m of text.matchAll(/<!--([\s\S]*?)-->/g)) {
    if (/\bengineer\b|\bTODO\b|\bFIXME\b|\bXXX\b|replace this|check this/i.test(m[1])) {
      out.push(`${lineOf(m.index!)}: a note to the team: <!--${m[1].trim().slice(0, 60)}-->`);
    }
  }
  const claim =
    /\b(?:ha(?:s|ve) not|hasn't|haven't|not(?: yet)?) (?:yet )?landed\b|\bnot landed yet\b|\bcoming soon\b/gi;
  for (const m of text.matchAll(claim)) out.push(`${lineOf(m.index!)}: "${m[0]}"`);
  return out;
}

Deno.test("docs: the checker finds notes to engineers and 'not landed yet' claims", () => {
  assertEquals(docProblems("ok\n<!-- sessions engineer: replace this -->\n").length, 1);
  assertEquals(docProblems("<!-- config-keys:start (generated) -->").length, 0);
  assertEquals(docProblems("features that have not landed yet (git clone)").length, 1);
  assertEquals(docProblems("this is not landed yet").length, 1);
  assertEquals(docProblems("it landed in 1.2").length, 0);
});

Deno.test("docs: no Markdown file of the project has a note to the team or a 'not landed yet' claim", async () => {
  const files = await markdownFiles(ROOT);
  const bad: string[] = [];
  for (const f of files) {
    const rel = relative(ROOT, f);
    // issue texts and seeds quote what they ask to fix
    if (/^(?:\.|seeds\/|tests\/fixtures\/)/.test(rel)) continue;
    for (const p of docProblems(await Deno.readTextFile(f))) bad.push(`${rel}:${p}`);
  }
  assertEquals(bad, []);
});

/**
 * What the demo has (`deno task demo`: the agent CLIs against its model-API stand-in, best-of-N groups, an
 * agent's runs and logs): a help example marked `[not in the demo: …]` for one of these says a falsehood.
 */
export function falseDemoMark(comment: string): string | undefined {
  const m = /\[not in the demo(?::\s*([^\]]*))?\]/i.exec(comment);
  if (!m) return undefined;
  const why = (m[1] ?? "").trim();
  return /\bagents?\b(?!\s+key)|\bagent runs?\b|\bmodel[- ]API\b|\bbest[- ]of[- ]N\b|\breplicas?\b|\bgroups?\b/i
      .test(why)
    ? why
    : undefined;
}

Deno.test("help: the demo-mark checker flags agents, a model API and groups, not a keychain or a remote", () => {
  for (
    const bad of [
      "Start a run [not in the demo: an agent]",
      "x [not in the demo: agents]",
      "x [not in the demo: an agent run]",
      "x [not in the demo: a model API]",
      "x [Not in the demo: a Model-API]",
      "x [not in the demo: a best-of-N group runs agents]",
      "x [not in the demo: replicas]",
    ]
  ) assertEquals(typeof falseDemoMark(bad), "string", bad);
  for (
    const ok of [
      "x [not in the demo: a keychain]",
      "x [not in the demo: an agent key]",
      "x [not in the demo: a remote]",
      "x [not in the demo]",
      "x [demo project]",
    ]
  ) assertEquals(falseDemoMark(ok), undefined, ok);
});

Deno.test("help: no example says an agent, a model API or a group is not in the demo (the demo runs them)", async () => {
  const { COMMANDS } = await import("../../src/cli/commands.ts");
  const { specsOf } = await import("../../src/cli/spec.ts");
  type Spec = { names: string[]; help: { examples: [string, string][] }; subcommands?: Spec[] };
  const wrong: string[] = [];
  const walk = (s: Spec, path: string) => {
    const p = `${path} ${s.names[0]}`;
    for (const [comment] of s.help.examples) {
      const why = falseDemoMark(comment);
      if (why !== undefined) wrong.push(`${p}: [not in the demo: ${why}]`);
    }
    for (const sub of s.subcommands ?? []) walk(sub, p);
  };
  for (const [, load] of COMMANDS) {
    for (const s of specsOf(await load())) walk(s as unknown as Spec, "kodama");
  }
  assertEquals(wrong, []);
});
