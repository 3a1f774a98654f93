/**
 * src/cli/fast.ts reads every command line without commander, from the commands' option tables. It must read every line it accepts
 * exactly as commander does (the options and their sources, the operands), and leave to commander every
 * line commander would refuse or answer with help. Each line below goes through both: commander's tree
 * (main.ts buildProgram, with the command's action swapped for one that records what it was given) and the
 * fast reader.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { COMMANDS } from "../../../main.ts";
import { buildProgram } from "../../../src/cli/program.ts";
import { fastLine } from "../../../src/cli/fast.ts";
import { type AnyCommand, invocationOf } from "../../../src/cli/flags.ts";
import type { Invocation } from "../../../src/cli/optspec.ts";
import { type CommandSpec, specsOf } from "../../../src/cli/spec.ts";
import type { Command } from "@commander-js/extra-typings";

interface Read {
  command: string;
  opts: Record<string, unknown>;
  args: string[];
  given: string[];
}

const keysOf = (inv: Invocation) => Object.keys(inv.opts).concat(["maxParallel", "logLevel", "namespace"]);
const summary = (command: string, inv: Invocation): Read => ({
  command,
  opts: inv.opts,
  args: inv.args,
  given: [...new Set(keysOf(inv).filter((k) => inv.given(k)))].sort(),
});

/** What commander makes of `args`: the invocation, or undefined when it refuses the line or prints help. */
async function byCommander(args: string[]): Promise<Read | undefined> {
  const program = await buildProgram(args) as unknown as Command;
  let read: Read | undefined;
  const record = (c: AnyCommand, path: string[]) => {
    const here = [...path, c.name()];
    if ((c as unknown as { _actionHandler?: unknown })._actionHandler) {
      c.action((...a: unknown[]) => {
        read = summary(here.join(" "), invocationOf(a[a.length - 1] as never));
      });
    }
    for (const sub of c.commands as AnyCommand[]) record(sub, here);
  };
  for (const c of program.commands) record(c as unknown as AnyCommand, []);
  (program as unknown as { _lifeCycleHooks: object })._lifeCycleHooks = {}; // no preAction: nothing to set up
  const quiet = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
  program.configureOutput(quiet);
  const quietAll = (c: AnyCommand) => {
    c.configureOutput(quiet);
    for (const sub of c.commands as AnyCommand[]) quietAll(sub);
  };
  quietAll(program as unknown as AnyCommand);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch {
    return undefined;
  }
  return read;
}

async function byFast(args: string[]): Promise<Read | undefined> {
  const line = await fastLine(args);
  return line && summary(line.path.join(" "), line.inv);
}

const ACCEPTED: string[][] = [
  ["exec", "-n", "load", "load-000", "--", "true"],
  ["exec", "load-000", "--", "sh", "-c", "echo -n hi"],
  ["-n", "prod", "exec", "-m", "api", "-it", "--", "sh"],
  ["exec", "-n=prod", "-m", "api", "-m", "9p", "--all", "--", "hostname"],
  ["exec", "--namespace=prod", "-l", "app=api", "--all", "-o", "json", "--", "hostname"],
  [
    "exec",
    "-n",
    "load",
    "--all",
    "--max-parallel",
    "4",
    "--fail-fast",
    "--timeout",
    "2s",
    "--",
    "sleep",
    "1",
  ],
  ["exec", "-n", "load", "--all", "--max-parallel=7", "--no-prefix", "--group", "--", "true"],
  ["exec", "-T", "-n", "prod", "deploy/api", "--", "ls"],
  ["exec", "-ti", "-cmain", "--pod", "x", "--", "sh"],
  ["exec", "deploy/api", "hostname"],
  [
    "exec",
    "-n",
    "prod",
    "--context",
    "dev",
    "--as",
    "jane",
    "--as-group",
    "a",
    "--as-group",
    "b",
    "x",
    "--",
    "id",
  ],
  ["exec", "--regex", "^api-", "--pick", "--query", "api", "--select-1", "--exit-0", "--multi", "--", "x"],
  ["exec", "--tmux", "--layout", "even-vertical", "--sync-panes", "-n", "prod", "-m", "api"],
  ["exec", "--include-not-ready", "--first", "-A", "-m", "x", "--", "true"],
  ["exec", "-n", "prod", "x", "--log-level", "debug", "--log-format", "json", "--no-color", "--", "true"],
  ["exec", "x", "seq", "-5"],
  ["exec", "x", "--", "-h", "--help", "-V"],
  ["--kubeconfig", "/k", "--request-timeout", "5s", "exec", "x", "--", "true"],
  ["exec", "-n", "-A", "x", "--", "true"],
  ["exec", "--insecure-skip-tls-verify", "-s", "https://h:1", "--token", "t", "x", "--", "true"],
  ["pods"],
  ["po", "-n", "prod", "-o", "wide"],
  ["pods", "-A", "-l", "app=api", "--running", "-o", "name"],
  ["pods", "-n", "prod", "deploy/api"],
  ["-n", "prod", "pods", "-w", "--reconnect-timeout", "10s"],
  ["pods", "--watch-only", "--output-watch-events", "-Am", "drive"],
  ["pods", "--field-selector", "status.phase=Running", "-oyaml"],
  ["pods", "-n", "x", "--", "api"],
  ["pods", "-w5"],
  ["run", "kwekash"],
  ["run", "kwekash", "weka", "status"],
  ["run", "kwekash", "--", "sh", "-c", "x -y"],
  ["-n", "prod", "run", "./ci/smoke.yaml", "--trust", "-y", "-p", "a=1", "--param", "b=2", "--dry-run"],
  ["run", "health", "-pnamespace=prod", "--param=match=api", "--context", "dev"],
  // every other command reads its table the same way, subcommands included
  ["start", "w1", "--sync", "--image", "busybox", "--env-file", "a", "--env-file", "b"],
  ["start", "w1", "--sync", "./src", "--cpu=2", "--no-wait", "--dry-run", "-o", "json"],
  ["session", "start", "w1", "--no-sync", "--repo", ".", "-n", "team"],
  ["-n", "team", "session", "list", "-A", "-o", "wide"],
  ["session", "ls", "-w"],
  ["session"],
  ["ls"],
  ["attach", "w1", "--command", "ls -la", "--no-tty"],
  ["delete", "w1", "-f", "--purge"],
  ["config", "get", "defaults.namespace", "-o", "json"],
  ["config", "set", "exec.maxParallel", "64", "--repo"],
  ["config", "view", "--resolved", "--log-level", "info"],
  ["port-forward", "deploy/api", "8080", "--address", "0.0.0.0", "--no-reconnect"],
  ["pf", "list", "-o", "json"],
  ["pf", "stop", "--all"],
  ["sync", "push", "w1", ".", "--full"],
  ["sync", "pull", "w1", "src", "--dry-run", "--force"],
  ["agent", "logs", "w1", "3", "-f"],
  ["logs", "-n", "prod", "-m", "api", "-f", "--tail", "-1", "-i", "a", "-i", "b", "--max-streams", "5"],
  ["wait", "deploy/api", "--for", "condition=Available", "--timeout", "2m", "-q"],
  ["cp", "./a", "pod:/tmp/a", "--no-progress", "-c", "main"],
  ["pick", "-A", "--multi", "-o", "json"],
  ["workflow", "validate", "a.yaml", "b.yaml"],
  ["wf", "ls", "-o", "name"],
  ["version", "--client", "-o", "yaml"],
  ["doctor", "-o", "json"],
  ["completion", "bash"],
];

const REFUSED: string[][] = [
  ["session", "nosuch"],
  ["session", "help"],
  ["config"],
  ["config", "get"],
  ["config", "nosuch", "x"],
  ["start"],
  ["start", "w1", "-o", "table"],
  ["logs", "--tail", "x"],
  ["logs", "--max-streams", "0"],
  ["pf", "stop", "--bogus"],
  ["sync", "push", "w1", "a", "b"],
  ["agent"],
  ["nosuch"],
  ["help", "pods"],
  ["__complete", "pods", ""],
  ["exec", "--help"],
  ["exec", "-h"],
  ["pods", "-V"],
  ["-V", "pods"],
  ["exec", "--bogus", "--", "true"],
  ["exec", "-n"],
  ["exec", "-o", "table", "--", "true"],
  ["exec", "--max-parallel", "0", "--", "true"],
  ["exec", "--max-parallel", "x", "--", "true"],
  ["pods", "a", "b"],
  ["pods", "-o", "bad"],
  ["pods", "--log-level", "loud"],
  ["pods", "-in", "x"],
  ["-x", "pods"],
  ["pods", "-wz"],
  ["run"],
  ["run", "-p", "a=1"],
  ["run", "x", "--bogus"],
  ["run", "--help"],
];

Deno.test("fast reader: reads each everyday line as commander does", async () => {
  for (const args of ACCEPTED) {
    const slow = await byCommander(args);
    assert(slow, `commander refused ${args.join(" ")}`);
    assertEquals(await byFast(args), slow, args.join(" "));
  }
});

Deno.test("fast reader: leaves help, --version and every line commander refuses to commander", async () => {
  for (const args of REFUSED) {
    assertEquals(await byFast(args), undefined, `fast read ${args.join(" ")}`);
    assertEquals(await byCommander(args), undefined, `commander ran ${args.join(" ")}`);
  }
});

Deno.test("fast reader: reads the same tables commander is given, for every command", async () => {
  const same = (spec: CommandSpec, cmd: AnyCommand) => {
    assertEquals(cmd.options.map((o) => o.flags), (spec.options ?? []).map((o) => o.flags), spec.names[0]);
    assertEquals([cmd.name(), ...cmd.aliases()], [...spec.names]);
    const subs = cmd.commands as AnyCommand[];
    assertEquals(subs.length, spec.subcommands?.length ?? 0, spec.names[0]);
    spec.subcommands?.forEach((s, i) => same(s, subs[i]));
  };
  for (const [names, load] of COMMANDS) {
    const m = await load();
    const program = await buildProgram([names[0]]) as unknown as Command;
    for (const spec of specsOf(m)) {
      same(spec, program.commands.find((c) => c.name() === spec.names[0]) as unknown as AnyCommand);
    }
  }
});
