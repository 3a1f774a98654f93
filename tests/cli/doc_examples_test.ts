/**
 * Every example of docs/guide.md and of the pod, workflow and settings commands' `--help` runs on the demo world (the test server
 * seeded like `deno task demo`), or says why not: a comment with `[not in the demo]` (another cluster, a real
 * image, a git remote, an agent) or `[interactive]` (it needs a terminal). The rules are
 * tests/cli/readme_examples_test.ts's: exit 0, no `error:` line, no stack trace; a long-running example
 * (`-f`, `-w`, `ui`, a port-forward in the foreground) prints something, then ends with Ctrl-C.
 *
 * Examples run in their file's order (a session one makes is there for the next), one command's at a time;
 * the pod commands, which change nothing, run a few at once.
 */
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { onRealCluster, startCluster } from "../cluster/harness.ts";
import { DEMO_LOAD_PODS } from "../cluster/main.ts";
import { CONFIG, hasStackTrace, MAIN } from "./_run.ts";
import { TIMEOUT } from "../_timeout.ts";
import { readmeExamples } from "./_examples.ts";
import { COMMANDS } from "../../src/cli/commands.ts";
import { type CommandSpec, specsOf } from "../../src/cli/spec.ts";

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

/** What an example leaves changed: the session examples after it find `my-work` made again. */
const CHANGES_MY_WORK = /^kodama ((stop|delete|gc|restore) |start my-work(?!.*--dry-run))/;

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
    const check = async (e: DocExample) => {
      const t0 = Date.now();
      const r = await run(e.command);
      if (timesTo) await Deno.writeTextFile(timesTo, `${Date.now() - t0}\t${e.command}\n`, { append: true });
      const ok = (r.long ? r.out.trim() && (r.code === 0 || r.code === 130) : r.code === 0) &&
        !/^error:/m.test(r.err) && !hasStackTrace(r.err);
      if (!ok) {
        console.error(
          `FAILED ${e.where}: ${e.command} (exit ${r.code}): ${
            r.err.trim().split("\n").slice(0, 3).join(" / ")
          }`,
        );
        failures.push(
          `${e.where}: ${e.command}\n  exit ${r.code}: ${r.err.trim().split("\n").slice(0, 3).join(" / ")}`,
        );
      }
    };
    try {
      const todo = all.filter((e) => !e.skip);
      const parallel = todo.filter((e) => READ_ONLY.has(e.group));
      const ordered = todo.filter((e) => !READ_ONLY.has(e.group));
      await t.step(`${parallel.length} pod examples, three at a time`, async () => {
        const queue = [...parallel];
        await Promise.all([0, 1, 2].map(async () => {
          for (let e = queue.shift(); e; e = queue.shift()) await check(e);
        }));
      });
      // every --help's other examples (workflows, config, forwards, sessions, snapshots, sync, …) one by one,
      // in the commands' order, in one demo world: each `start NAME` finds NAME gone, the others find
      // `my-work` running (made again after an example that stopped or removed it)
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
      let dirty = true;
      const prepare = async (e: DocExample) => {
        const cmd = sameCommand(e.command);
        const start = /^kodama start ([a-z0-9-]+)(\s|$)/.exec(cmd);
        if (start && !cmd.includes("--dry-run")) {
          // each start example on its own: the earlier sessions' syncs of this directory stopped first (one
          // directory, one two-way session: a start that overlaps a live sync is refused)
          await quiet(
            `kodama delete ${start[1]} --force --purge; ` +
              `for s in $(kodama list -o name 2>/dev/null); do kodama sync stop "\${s##*/}"; done`,
          );
        } else if (dirty && /\bmy-work\b/.test(cmd)) {
          // a session of this repository (fetch, land and clone --branch need its git), running
          await quiet("kodama delete my-work --force --purge; kodama start my-work --repo . --no-sync");
          dirty = false;
        }
        // a sync start example on its own too: no other session syncs this directory
        if (/^kodama sync start /.test(cmd)) {
          await quiet(`for s in $(kodama list -o name 2>/dev/null); do kodama sync stop "\${s##*/}"; done`);
        }
        const restore = /^kodama restore my-work ([a-z0-9-]+)$/.exec(cmd);
        if (restore) await quiet(`kodama snapshot create my-work ${restore[1]}`);
      };
      const helps = ordered.filter((e) => e.group !== "guide");
      await t.step(`${helps.length} --help examples in order`, async () => {
        for (const e of helps) {
          const t0 = Date.now();
          await prepare(e);
          if (timesTo && Date.now() - t0 > 200) {
            await Deno.writeTextFile(timesTo, `${Date.now() - t0}\t(prepare) ${e.command}\n`, {
              append: true,
            });
          }
          await check(e);
          if (CHANGES_MY_WORK.test(sameCommand(e.command))) dirty = true;
        }
      });
      // the guide's session lines, one by one in its order; slow on a loaded machine, so only when asked
      // (KODAMA_DOC_EXAMPLES_ALL=1) until it is made faster
      const guided = ordered.filter((e) => e.group === "guide");
      await t.step({
        name: `${guided.length} guide examples in order`,
        ignore: !Deno.env.get("KODAMA_DOC_EXAMPLES_ALL"),
        fn: async () => {
          for (const e of guided) await check(e);
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
