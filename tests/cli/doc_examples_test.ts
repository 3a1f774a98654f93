/**
 * Every example of docs/guide.md and of the pod, workflow and settings commands' `--help` runs on the demo world (the test server
 * seeded like `deno task demo`), or says why not: a comment with `[not in the demo]` (another cluster, a real
 * image, a git remote, an agent) or `[interactive]` (it needs a terminal). The rules are
 * tests/cli/readme_examples_test.ts's: exit 0, no `error:` line, no stack trace; a long-running example
 * (`-f`, `-w`, `ui`, a port-forward in the foreground) prints something, then ends with Ctrl-C.
 *
 * Three lanes run side by side (issue #63: the file was the run's longest serial slot): the pod commands,
 * which change nothing, two at a time; the workflow, cp and port-forward examples in order; and the
 * config and session chain in the commands' order (a session one makes is there for the next). The chain
 * starts once `run` and `workflow` are done: `config set workflows.paths` changes what they read, for good.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster, startCluster } from "../cluster/harness.ts";
import { DEMO_LOAD_PODS } from "../cluster/main.ts";
import { CONFIG, hasStackTrace, MAIN } from "./_run.ts";
import { TIMEOUT } from "../_timeout.ts";
import { NO_SANITIZERS } from "../_side_by_side.ts";
import { readmeExamples } from "./_examples.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { type CommandSpec, specsOf } from "../../src/cli/spec.ts";
import { syncedTrees } from "../../src/session/sync/overlap.ts";

const ROOT = join(CONFIG, "..");
const SKIP = /\[(not in the demo|interactive|demo project)[\]:]/;

export interface DocExample {
  where: string;
  command: string;
  skip: boolean;
  /** examples of one group run one after another, in order */
  group: string;
}

/** Every example of every command's help: `# comment` + command, the comment may mark it. */
export async function helpExamples(): Promise<DocExample[]> {
  const out: DocExample[] = [];
  const walk = (s: CommandSpec, path: string, top: string) => {
    const p = `${path} ${s.names[0]}`.trim();
    for (const [comment, command] of s.help.examples) {
      for (const line of command.split("\n")) {
        if (!/^(kodama|kpod|kwekash)\s/.test(line.trim())) continue;
        out.push({ where: `${p} --help`, command: line.trim(), skip: SKIP.test(comment), group: top });
      }
    }
    for (const sub of s.subcommands ?? []) walk(sub, p, top);
  };
  for (const [, load] of COMMANDS) for (const s of specsOf(await load())) walk(s, "kodama", s.names[0]);
  return out;
}

/**
 * `kodama session start …` and `kodama start …` are one command (the session verbs are also top-level
 * commands), with one list of examples in both `--help`s: each runs once.
 */
export function sameCommand(cmd: string): string {
  return cmd.replace(/^kodama session (?=\S)/, "kodama ");
}

/** Every example once (the first `--help` that shows it names it), in the commands' order. */
export function uniqueExamples(all: DocExample[]): DocExample[] {
  const seen = new Set<string>();
  return all.filter((e) => {
    const key = sameCommand(e.command);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Pod commands change nothing in the cluster: they may run at once. */
const READ_ONLY = new Set([
  "pods",
  "exec",
  "pick",
  "logs",
  "wait",
  "version",
  "options",
  "completion",
  "doctor",
]);

// `kodama mcp` reads its stdin: here that is closed, so it ends by itself
const longRunning = (cmd: string) =>
  /(^|\s)(-f|--follow|-w|--watch|--watch-only)(\s|$)/.test(cmd) ||
  (/\s(port-forward|pf)\s/.test(cmd) && !/--detach|\s(list|stop)(\s|$)/.test(cmd)) ||
  /^kodama (ui)(\s|$)/.test(cmd);

/**
 * Beside the chain: they read nothing the chain changes but `workflows.paths` (run, workflow: done before the
 * chain starts) and change nothing it reads (cp and port-forward name their namespace). Not the template
 * examples: `template show node > .kodama/templates/web.yaml` leaves an empty template there for a moment,
 * and `start --template` reads every template of the repository.
 */
const BEFORE_CONFIG = new Set(["run", "workflow"]);
const BESIDE = new Set([...BEFORE_CONFIG, "cp", "port-forward"]);

/** The three lanes of the --help examples, each in the commands' order. Pure. */
export function lanes(todo: DocExample[]): { pods: DocExample[]; beside: DocExample[]; chain: DocExample[] } {
  const helps = todo.filter((e) => e.group !== "guide");
  return {
    pods: helps.filter((e) => READ_ONLY.has(e.group)),
    beside: helps.filter((e) => BESIDE.has(e.group)),
    chain: helps.filter((e) => !READ_ONLY.has(e.group) && !BESIDE.has(e.group)),
  };
}

/** What an example leaves changed: the session examples after it find `my-work` made again. */
const CHANGES_MY_WORK = /^kodama ((stop|delete|gc|restore) |start my-work(?!.*--dry-run))/;

/**
 * What the chain does before an example: a `start NAME` finds NAME gone and no live sync of the directory; an
 * example of `my-work` finds it running (made again after one that changed it); a restore finds its snapshot.
 */
function chainPreparer(quiet: (command: string) => Promise<unknown>, home: string) {
  // the syncs the overlap check counts (src/session/sync/overlap.ts), each stopped: one directory, one
  // two-way session (a start that overlaps a live sync is refused). Only the live ones: a `sync stop` per
  // session made was a kodama process each, most of them for sessions never synced
  const stopSyncs = async () => {
    const live = (await syncedTrees(home)).filter((s) => s.live).map((s) => s.name);
    if (live.length) await quiet(live.map((n) => `kodama sync stop ${n}`).join("; "));
  };
  let dirty = true;
  return async (e: DocExample) => {
    const cmd = sameCommand(e.command);
    const start = /^kodama start ([a-z0-9-]+)(\s|$)/.exec(cmd);
    if (start && !cmd.includes("--dry-run")) {
      // each start example on its own: the earlier sessions' syncs of this directory stopped first
      await quiet(`kodama delete ${start[1]} --force --purge`);
      await stopSyncs();
    } else if (dirty && /\bmy-work\b/.test(cmd)) {
      // a session of this repository (fetch, land and clone --branch need its git), running
      await quiet("kodama delete my-work --force --purge; kodama start my-work --repo . --no-sync");
      dirty = false;
    }
    // a sync start example on its own too: no other session syncs this directory
    if (/^kodama sync start /.test(cmd)) await stopSyncs();
    const restore = /^kodama restore my-work ([a-z0-9-]+)$/.exec(cmd);
    if (restore) await quiet(`kodama snapshot create my-work ${restore[1]}`);
    if (CHANGES_MY_WORK.test(cmd)) dirty = true;
  };
}

Deno.test("doc examples: the three lanes hold every --help example once, each in the commands' order", async () => {
  const helps = uniqueExamples(await helpExamples()).filter((e) => !e.skip);
  const { pods, beside, chain } = lanes(helps);
  assertEquals(pods.length + beside.length + chain.length, helps.length);
  for (const l of [pods, beside, chain]) assertEquals(l, helps.filter((e) => l.includes(e)));
  // the chain holds the sessions and config; run and workflow are beside it, before config
  assert(chain.some((e) => e.group === "config") && chain.some((e) => e.group === "session"));
  assert(beside.some((e) => e.group === "workflow") && !chain.some((e) => BEFORE_CONFIG.has(e.group)));
});

Deno.test({
  name: "docs/guide.md and every --help: the unmarked examples run on the demo world",
  ignore: onRealCluster,
  ...{ [TIMEOUT]: 30 * 60_000 },
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const guide = readmeExamples(await Deno.readTextFile(join(ROOT, "docs/guide.md"))).map((e) => ({
      where: `docs/guide.md:${e.line}`,
      command: e.command,
      skip: e.skip,
      group: "guide",
    }));
    const all = [...guide, ...uniqueExamples(await helpExamples())];
    assert(all.filter((e) => !e.skip).length > 50, "the docs have examples");
    const c = await startCluster({ seed: "demo", pods: DEMO_LOAD_PODS });
    const tmp = await Deno.makeTempDir({ prefix: "kodama-docex-" });
    const bin = join(tmp, "bin");
    const project = join(tmp, "project");
    await Deno.mkdir(bin);
    await Deno.mkdir(project);
    // a project directory, as the examples' `--repo` config expects, with the files the examples name
    await Deno.mkdir(join(project, "src"));
    await Deno.writeTextFile(join(project, "src", "a.ts"), "export const a = 1;\n");
    await Deno.writeTextFile(join(project, ".env"), "API_URL=http://localhost:8080\nDEBUG=1\n");
    await Deno.writeTextFile(join(project, ".env.local"), "API_TOKEN=demo-token\n");
    await Deno.writeTextFile(join(project, "task.txt"), "Fix the failing test in api/\n");
    await Deno.writeTextFile(join(project, "app.conf"), "level=info\n");
    await Deno.writeTextFile(join(project, "fix.sh"), "#!/bin/sh\necho fixed\n", { mode: 0o755 });
    await Deno.mkdir(join(project, ".kodama", "templates"), { recursive: true });
    // the repo's workflows the examples name: a deploy check and a CI smoke test on the demo's api pods
    await Deno.mkdir(join(project, ".kodama", "workflows"), { recursive: true });
    await Deno.mkdir(join(project, "ci"));
    const flow = (name: string) =>
      `name: ${name}\ntargets:\n  api: { namespace: prod, match: api, select: all }\nsteps:\n` +
      `  - id: up\n    exec: { target: api, command: ["true"] }\n`;
    await Deno.writeTextFile(join(project, ".kodama", "workflows", "deploy.yaml"), flow("deploy"));
    await Deno.writeTextFile(join(project, "ci", "smoke.yaml"), flow("smoke"));
    await Deno.mkdir(join(project, ".devcontainer"));
    await Deno.writeTextFile(
      join(project, ".devcontainer", "devcontainer.json"),
      '{ "image": "busybox:1.36" }\n',
    );
    for (
      const args of [
        ["init", "-q", "-b", "main", project],
        ["-C", project, "add", "-A"],
        ["-C", project, "-c", "user.name=demo", "-c", "user.email=demo@example.com", "commit", "-qm", "demo"],
      ]
    ) await new Deno.Command("git", { args, stdout: "null", stderr: "null" }).output();
    const deno = `${Deno.execPath()} run -A --config ${CONFIG} ${MAIN}`;
    for (const [name, prefix] of [["kodama", ""], ["kpod", "exec "], ["kwekash", "run kwekash "]]) {
      await Deno.writeTextFile(join(bin, name), `#!/bin/sh\nexec ${deno} ${prefix}"$@"\n`, { mode: 0o755 });
    }
    const home = join(tmp, "home");
    await Deno.mkdir(home);
    // as the demo's KODAMA_HOME: an image the demo runs
    await Deno.writeTextFile(join(home, "config.yaml"), "defaults:\n  image: busybox:1.36\n");
    const env: Record<string, string> = {
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      HOME: Deno.env.get("HOME") ?? tmp,
      KUBECONFIG: c.kubeconfig,
      KODAMA_HOME: home,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      // the run's Deno cache (scripts/deno-dir.ts) for the examples' kodama processes too
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      GIT_CONFIG_GLOBAL: "/dev/null",
      // exported in the shell, as `session env set my-work API_TOKEN` expects (the project's .env.local has it)
      API_TOKEN: "demo-token",
    };
    const run = async (command: string) => {
      const child = new Deno.Command("sh", {
        args: ["-c", command.includes("|") || command.includes("&&") ? command : `exec ${command}`],
        cwd: project,
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let out = "";
      const pump = (async () => {
        for await (const s of child.stdout.pipeThrough(new TextDecoderStream())) out += s;
      })();
      const err = new Response(child.stderr).text();
      const long = longRunning(command);
      const end = Date.now() + 60_000;
      const kill = (sig: Deno.Signal) => {
        try {
          child.kill(sig);
        } catch { /* it ended by itself */ }
      };
      if (long) {
        while (!out.trim() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        kill(out.trim() ? "SIGINT" : "SIGKILL");
      } else {
        const timer = setTimeout(() => kill("SIGKILL"), 60_000);
        await child.status.finally(() => clearTimeout(timer));
      }
      const status = await child.status;
      await pump;
      return { code: status.code, out, err: await err, long };
    };
    const failures: string[] = [];
    // KODAMA_DOC_EXAMPLES_TIMES=FILE: each example's time (ms, tab, command) appended there, to find the slow ones
    const timesTo = Deno.env.get("KODAMA_DOC_EXAMPLES_TIMES");
    const check = async (e: DocExample, failed: string[]) => {
      const t0 = Date.now();
      const r = await run(e.command);
      if (timesTo) await Deno.writeTextFile(timesTo, `${Date.now() - t0}\t${e.command}\n`, { append: true });
      const ok = (r.long ? r.out.trim() && (r.code === 0 || r.code === 130) : r.code === 0) &&
        !/^error:/m.test(r.err) && !hasStackTrace(r.err);
      if (!ok) {
        const why = `${e.where}: ${e.command}\n  exit ${r.code}: ${
          r.err.trim().split("\n").slice(0, 3).join(" / ")
        }`;
        console.error(`FAILED ${why}`);
        failed.push(why);
      }
    };
    const quiet = (command: string) =>
      new Deno.Command("sh", {
        args: ["-c", command],
        cwd: project,
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
    const prepare = chainPreparer(quiet, home);
    try {
      const todo = all.filter((e) => !e.skip);
      const { pods, beside, chain } = lanes(todo);
      let workflowsDone!: () => void;
      const beforeConfig = new Promise<void>((r) => workflowsDone = r);
      // each lane a step of its own, all at once (a failing example fails its lane's step)
      const lane = (name: string, fn: (failed: string[]) => Promise<void>) =>
        t.step({
          name,
          ...NO_SANITIZERS,
          fn: async () => {
            const failed: string[] = [];
            await fn(failed);
            failures.push(...failed);
            assertEquals(failed, []);
          },
        });
      await Promise.all([
        lane(`${pods.length} pod examples, two at a time`, async (failed) => {
          const queue = [...pods];
          await Promise.all([0, 1].map(async () => {
            for (let e = queue.shift(); e; e = queue.shift()) await check(e, failed);
          }));
        }),
        lane(`${beside.length} workflow, cp and port-forward examples in order`, async (failed) => {
          try {
            for (const e of beside) {
              if (!BEFORE_CONFIG.has(e.group)) workflowsDone();
              await check(e, failed);
            }
          } finally {
            workflowsDone();
          }
        }),
        // every --help's other examples (config, sessions, snapshots, sync, …) one by one, in the commands'
        // order, in one demo world: each `start NAME` finds NAME gone, the others find `my-work` running (made
        // again after an example that stopped or removed it)
        lane(`${chain.length} config and session examples in order`, async (failed) => {
          await beforeConfig;
          for (const e of chain) {
            const t0 = Date.now();
            await prepare(e);
            if (timesTo && Date.now() - t0 > 200) {
              await Deno.writeTextFile(timesTo, `${Date.now() - t0}\t(prepare) ${e.command}\n`, {
                append: true,
              });
            }
            await check(e, failed);
          }
        }),
      ]);
      // the guide's session lines, one by one in its order; slow on a loaded machine, so only when asked
      // (KODAMA_DOC_EXAMPLES_ALL=1) until it is made faster
      const guided = todo.filter((e) => e.group === "guide");
      await t.step({
        name: `${guided.length} guide examples in order`,
        ignore: !Deno.env.get("KODAMA_DOC_EXAMPLES_ALL"),
        fn: async () => {
          for (const e of guided) await check(e, failures);
        },
      });
      assertEquals(failures, []);
    } finally {
      await new Deno.Command("sh", {
        args: [
          "-c",
          'kodama port-forward stop --all; for s in $(kodama list -o name 2>/dev/null); do kodama sync stop "${s##*/}"; done',
        ],
        env,
        clearEnv: true,
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
      await c.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
