/** What `__complete` offers, decided from the real command tree with stand-in value sources (no cluster). */
import { assert, assertEquals } from "@kodama/test-assert";
import { buildProgram } from "../../../src/cli/program.ts";
import type { AnyCommand } from "../../../src/cli/flags.ts";
import { help } from "../../../src/cli/help.ts";
import {
  type Candidate,
  complete,
  completeArgs,
  Directive,
  format,
  plan,
  type Providers,
  type ValueKind,
} from "../../../src/cli/complete.ts";

const root = async () => await buildProgram() as unknown as AnyCommand;

/** Providers that answer with their own kind, to see which one was asked. */
function echo(): Providers {
  const p: Partial<Providers> = {};
  const kinds: ValueKind[] = [
    "namespaces",
    "contexts",
    "clusters",
    "users",
    "pods",
    "containers",
    "labels",
    "targets",
    "sessions",
    "workflows",
    "params",
    "config-keys",
    "config-values",
    "cp-path",
  ];
  for (const k of kinds) p[k] = (r) => Promise.resolve([{ value: `${r.toComplete}<${k}>` }] as Candidate[]);
  return p as Providers;
}

const asked = async (words: string[]) =>
  (await complete(await root(), words, echo())).candidates.map((c) => c.value);

Deno.test("flags: '-' lists short and long ones, '--' only long ones; given ones are not offered again", async () => {
  const r = await root();
  const short = plan(r, ["pods", "-"]).static!.candidates.map((c) => c.value);
  assert(short.includes("-w") && short.includes("--watch") && short.includes("-n"), short.join(" "));
  const long = plan(r, ["pods", "--"]).static!.candidates.map((c) => c.value);
  assert(long.every((f) => f.startsWith("--")));
  assert(!plan(r, ["pods", "--running", "--r"]).static!.candidates.some((c) => c.value === "--running"));
  // repeatable flags come back
  assert(plan(r, ["exec", "-m", "a", "--m"]).static!.candidates.some((c) => c.value === "--match"));
});

Deno.test("flag values: which source is asked, choices, files, and --flag=value words", async () => {
  assertEquals(await asked(["exec", "-n", "pr"]), ["pr<namespaces>"]);
  assertEquals(await asked(["exec", "--namespace=pr"]), ["--namespace=pr<namespaces>"]);
  assertEquals(await asked(["exec", "--pod", ""]), ["<pods>"]);
  assertEquals(await asked(["exec", "-c", ""]), ["<containers>"]);
  assertEquals(await asked(["--context", "d"]), ["d<contexts>"]);
  assertEquals(await asked(["logs", "-l", "app"]), ["app<labels>"]);
  assertEquals(await asked(["run", "kwekash", "-p", ""]), ["<params>"]);
  const r = await root();
  assertEquals(plan(r, ["pods", "-o", ""]).static!.candidates.map((c) => c.value), [
    "table",
    "wide",
    "json",
    "yaml",
    "name",
  ]);
  assertEquals(plan(r, ["--kubeconfig", "~/"]).static!.directive, Directive.Default, "file completion");
  assertEquals(plan(r, ["--as", ""]).static, { candidates: [], directive: Directive.NoFileComp });
});

Deno.test("arguments: by name, by declaration, and session verbs; nothing after --", async () => {
  assertEquals(await asked(["exec", "a"]), ["a<targets>"]);
  assertEquals(await asked(["run", ""]), ["<workflows>"]);
  assertEquals(await asked(["workflow", "show", ""]), ["<workflows>"]);
  assertEquals(await asked(["config", "get", "de"]), ["de<config-keys>"]);
  assertEquals(await asked(["config", "set", "a.b", ""]), ["<config-values>"]);
  assertEquals(await asked(["cp", "api"]), ["api<cp-path>"]);
  const r = await root();
  assertEquals(plan(r, ["workflow", "validate", ""]).static!.directive, Directive.FilterFileExt);
  assertEquals(plan(r, ["exec", "--pod", "x", "--", ""]).static!.candidates, []);
  // a Sessions verb completes session names, except start (which makes a new one)
  const stop = help(r.command("zz-stop") as AnyCommand, {
    group: "Sessions",
    summary: "Stop",
    examples: [["x", "kodama zz-stop a"]],
  }).argument("<name>");
  if (!r.commands.some((c) => c.name() === "start")) {
    help(r.command("start") as AnyCommand, {
      group: "Sessions",
      summary: "Start",
      examples: [["x", "kodama start a"]],
    }).argument("<name>");
  }
  assertEquals((await complete(r, ["zz-stop", "a"], echo())).candidates.map((c) => c.value), ["a<sessions>"]);
  assertEquals(plan(r, ["start", ""]).static?.candidates, []);
  // a declaration wins over names
  completeArgs(stop, "pods");
  assertEquals((await complete(r, ["zz-stop", "a"], echo())).candidates.map((c) => c.value), ["a<pods>"]);
});

Deno.test("subcommands, hidden ones left out; the answer is Cobra's text", async () => {
  const r = await root();
  const top = plan(r, [""]).static!.candidates.map((c) => c.value);
  assert(top.includes("exec") && top.includes("completion"), top.join(" "));
  assert(!top.includes("__complete") && !top.includes("help"));
  assertEquals(
    format({ candidates: [{ value: "a", description: "x\ty" }, { value: "b" }], directive: 6 }),
    "a\tx y\nb\n:6\n",
  );
});

Deno.test("a source slower than the deadline gives nothing (and the answer still comes)", async () => {
  const slow = { ...echo(), pods: () => new Promise<Candidate[]>(() => {}) };
  const r = await complete(await root(), ["exec", "--pod", ""], slow, { deadlineMs: 50 });
  assertEquals(r, { candidates: [], directive: Directive.NoFileComp });
  const failing = { ...echo(), pods: () => Promise.reject(new Error("boom")) };
  assertEquals((await complete(await root(), ["exec", "--pod", ""], failing)).candidates, []);
});

Deno.test("a command with subcommands and arguments of its own offers both; fixed argument values", async () => {
  // port-forward TARGET PORTS… and port-forward list|stop
  const pf = await asked(["port-forward", ""]);
  assert(pf.includes("list") && pf.includes("stop") && pf.includes("<targets>"), pf.join(" "));
  // after the target come ports: nothing to offer
  assertEquals(await asked(["port-forward", "svc/api", ""]), []);
  assertEquals(await asked(["completion", ""]), ["bash", "zsh", "fish"]);
  assertEquals(await asked(["completion", "z"]), ["zsh"]);
});
