/**
 * Every command's help: a summary, Examples (`# comment` above each command line), a kubectl-style Usage
 * line and the pointer to `kodama options`. Walks the whole command tree, so a command added without
 * examples fails here; each example is parsed against the real flags, so an example that names a flag the
 * command does not have (or a bad choice) fails too.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import type { Help } from "@commander-js/extra-typings";
import { buildProgram } from "../../../src/cli/program.ts";
import type { AnyCommand } from "../../../src/cli/flags.ts";
import { GROUPS, help, HELP_BUDGET, helpSpec, setHelpAll, useKubectlHelp } from "../../../src/cli/help.ts";
import { parseLine } from "../../../src/cli/argv.ts";

function walk(cmd: AnyCommand, out: AnyCommand[] = []): AnyCommand[] {
  out.push(cmd);
  for (const c of cmd.commands as AnyCommand[]) walk(c, out);
  return out;
}

function pathOf(cmd: AnyCommand): string {
  const names: string[] = [];
  for (let c: AnyCommand | null = cmd; c; c = c.parent as AnyCommand | null) names.unshift(c.name());
  return names.join(" ");
}

function helpText(cmd: AnyCommand): string {
  const h = cmd.createHelp() as Help;
  h.prepareContext({ helpWidth: 100 });
  return h.formatHelp(cmd as never, h);
}

/** Shell words and the kodama invocations in one example line (through pipes, `$(…)`, `;`, `&&`, `||`). */
export function invocations(text: string): string[][] {
  // "$(…)" is read like $(…): its words are a command line of their own
  const line = text.replace(/"\$\(([^()]*)\)"/g, " $( $1 ) ");
  const words: string[] = [];
  let cur: string | undefined;
  let i = 0;
  const push = () => {
    if (cur !== undefined) words.push(cur);
    cur = undefined;
  };
  while (i < line.length) {
    const ch = line[i];
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      cur = (cur ?? "") + line.slice(i + 1, end);
      i = end + 1;
    } else if (ch === '"') {
      let j = i + 1;
      let s = "";
      while (j < line.length && line[j] !== '"') {
        if (line[j] === "\\") j++;
        s += line[j++];
      }
      cur = (cur ?? "") + s;
      i = j + 1;
    } else if (/\s/.test(ch)) {
      push();
      i++;
    } else if ((ch === "$" || ch === "<") && line[i + 1] === "(") {
      // $(…) and <(…): a command line of their own
      push();
      words.push("$(");
      i += 2;
    } else if ("|;&)<>".includes(ch)) {
      push();
      words.push(ch);
      i++;
    } else {
      cur = (cur ?? "") + (ch === "\\" ? line[++i] : ch);
      i++;
    }
  }
  push();
  const seps = new Set(["|", ";", "&", "$(", ")", "<", ">"]);
  const out: string[][] = [];
  for (let k = 0; k < words.length; k++) {
    if (!["kodama", "kpod", "kwekash"].includes(words[k])) continue;
    // the command word: first, after a separator, or after environment assignments (A=b kodama …)
    if (k > 0 && !seps.has(words[k - 1]) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[k - 1])) continue;
    const inv: string[] = [];
    let j = k + 1;
    // after `--` the words belong to the remote command, up to a pipe or redirection
    for (; j < words.length && !seps.has(words[j]); j++) inv.push(words[j]);
    if (words[k] === "kpod") inv.unshift("exec");
    if (words[k] === "kwekash") inv.unshift("run", "kwekash");
    out.push(inv);
  }
  return out;
}

Deno.test("invocations: finds kodama in pipes and command substitutions", () => {
  assertEquals(invocations("kodama pods -n prod -o name"), [["pods", "-n", "prod", "-o", "name"]]);
  assertEquals(
    invocations(`kubectl logs -n prod "$(kodama pick -n prod -m api | cut -d/ -f2)"`),
    [["pick", "-n", "prod", "-m", "api"]],
  );
  assertEquals(invocations("ns=$(kodama config get defaults.namespace) || ns=default"), [[
    "config",
    "get",
    "defaults.namespace",
  ]]);
  assertEquals(invocations("kpod -n prod -- sh -c 'a | b'"), [[
    "exec",
    "-n",
    "prod",
    "--",
    "sh",
    "-c",
    "a | b",
  ]]);
  assertEquals(invocations("printf 'a' | kwekash"), [["run", "kwekash"]]);
  assertEquals(invocations("source <(kodama completion bash)"), [["completion", "bash"]]);
});

/** What is wrong with the help of every command in the tree (empty when all is well). */
function helpProblems(root: AnyCommand): string[] {
  const problems: string[] = [];
  for (const cmd of walk(root).filter((c) => c.name() !== "help")) {
    const spec = helpSpec(cmd);
    const path = pathOf(cmd);
    if (spec?.internal) continue;
    if (!spec) {
      problems.push(`${path}: no help() spec (src/cli/help.ts)`);
      continue;
    }
    if (!spec.examples.length) problems.push(`${path}: no examples`);
    if (!/^[A-Zk]/.test(spec.summary) || spec.summary.includes("\n")) {
      problems.push(`${path}: summary must be one capitalised line`);
    }
    const text = helpText(cmd);
    if (spec.examples.length && !text.includes("\nExamples:\n  # ")) {
      problems.push(`${path}: no Examples section`);
    }
    if (!text.includes(`\nUsage:\n  ${path} `)) problems.push(`${path}: no Usage line`);
    if (!text.includes('Use "kodama options" for a list of global command-line options')) {
      problems.push(`${path}: no pointer to kodama options`);
    }
    if (text.includes("(default: [])") || text.includes("default: false")) {
      problems.push(`${path}: default noise`);
    }
    if (/<[a-z-]+>/.test((text.split("Usage:\n")[1] ?? "").split("\n\n")[0])) {
      problems.push(`${path}: commander-style usage`);
    }
    if (cmd.aliases().length && !text.includes(`Aliases:\n  ${cmd.name()}, ${cmd.aliases()[0]}`)) {
      problems.push(`${path}: no Aliases line`);
    }
    for (const [comment, line] of spec.examples) {
      if (!comment.trim() || !line.trim()) problems.push(`${path}: an example without a comment or command`);
      const invs = invocations(line);
      if (!invs.length) problems.push(`${path}: example does not run kodama: ${line}`);
      for (const inv of invs) {
        const p = parseLine(root, inv);
        const reached = p.path.join(" ");
        if (reached !== path && !reached.startsWith(path + " ")) {
          problems.push(`${path}: example runs '${reached}': ${line}`);
        }
        if (p.unknown.length) problems.push(`${path}: unknown flags ${p.unknown.join(", ")}: ${line}`);
        if (p.badChoices.length) problems.push(`${path}: bad values ${p.badChoices.join(", ")}: ${line}`);
        if (p.pending) problems.push(`${path}: a flag without its value: ${line}`);
        const args = p.command.registeredArguments ?? [];
        if (!args.some((a) => a.variadic) && p.operands.length > args.length) {
          problems.push(`${path}: too many arguments (${p.operands.join(" ")}): ${line}`);
        }
        if (p.operands.length < args.filter((a) => a.required).length) {
          problems.push(`${path}: missing arguments: ${line}`);
        }
      }
    }
  }
  return problems;
}

Deno.test("help: every command has a summary, Examples, Usage and the options pointer; every example parses", async () => {
  const root = await buildProgram() as unknown as AnyCommand;
  assert(walk(root).length > 15, "the whole tree is walked");
  assertEquals(helpProblems(root), []);
});

Deno.test("help: the check finds a command without examples and examples with wrong flags", async () => {
  const root = await buildProgram() as unknown as AnyCommand;
  root.command("bare").description("no help spec");
  help(root.command("thing") as unknown as AnyCommand, {
    summary: "A thing",
    examples: [["Wrong flag", "kodama thing --nope"], ["Wrong command", "kodama pods -n x"]],
  }).option("-o, --output <f>", "format");
  help(root.command("empty") as unknown as AnyCommand, { summary: "Nothing", examples: [] });
  useKubectlHelp(root);
  const got = helpProblems(root).join("\n");
  assertStringIncludes(got, "kodama bare: no help() spec");
  assertStringIncludes(got, "kodama thing: unknown flags --nope");
  assertStringIncludes(got, "kodama thing: example runs 'kodama pods'");
  assertStringIncludes(got, "kodama empty: no examples");
});

Deno.test("help: kodama --help groups commands like kubectl, and options lists the global flags", async () => {
  const root = await buildProgram() as unknown as AnyCommand;
  const text = helpText(root);
  assertStringIncludes(text, "Pod Commands:\n  pods ");
  assertStringIncludes(text, "Workflow Commands:\n  run ");
  assertStringIncludes(text, "Settings Commands:\n  config ");
  // every visible top-level command sits in a known group
  for (const c of root.commands as AnyCommand[]) {
    const spec = helpSpec(c);
    if (spec?.internal || c.name() === "help") continue;
    assert(GROUPS.includes(spec?.group ?? "Other"), c.name());
    assert(new RegExp(`\\n  ${c.name()} +\\S`).test(text), `${c.name()} is not listed`);
  }
  const opts = root.commands.find((c) => c.name() === "options") as AnyCommand;
  assert(opts, "kodama options exists");
});

Deno.test("help: every command's --help fits what a user scans; --help-all has every example and detail", async () => {
  const root = await buildProgram() as unknown as AnyCommand;
  const long: string[] = [];
  for (const cmd of walk(root).filter((c) => c !== root && c.name() !== "help" && !helpSpec(c)?.internal)) {
    const lines = helpText(cmd).trimEnd().split("\n").length;
    if (lines > HELP_BUDGET + 6) long.push(`${pathOf(cmd)}: ${lines} lines`);
  }
  assertEquals(long, []);
  const start = walk(root).find((c) => pathOf(c) === "kodama start")!;
  const short = helpText(start);
  assertStringIncludes(short, 'Use "kodama start --help-all"');
  assertStringIncludes(short, "--storage-class");
  setHelpAll(true);
  try {
    const all = helpText(start);
    assert(all.split("\n").length > short.split("\n").length * 2, all);
    assertStringIncludes(all, "StorageClass of the volumes");
  } finally {
    setHelpAll(false);
  }
});
