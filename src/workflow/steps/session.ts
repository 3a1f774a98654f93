/**
 * `session`: best of N from a workflow — start a group of agent sessions, wait for their agents (and
 * checks), compare them, delete them (but the one kept). One of `start`, `wait`, `compare`, `delete`.
 *
 * The sessions are kodama's own (`kodama start --replicas`, `compare`, `delete --group`), run as a kodama
 * process on the run's cluster and context (workflows and sessions do not import each other). Like the other
 * cluster steps it needs no `permissions`; what it reads on this machine — a `repo` path (and every place git
 * keeps that repository), a `prompt-file` — must be a path the workflow may read (RunHandle.confine), and
 * the prompt goes to the child on stdin, never in its arguments.
 */
import type { StepContext, StepKind } from "../types.ts";
import { wholeKube } from "./common.ts";

export interface SessionStartSpec {
  name: string;
  replicas?: number;
  repo?: string;
  "base-branch"?: string;
  prompt?: string;
  "prompt-file"?: string;
  check?: string;
  image?: string;
  cpu?: string;
  memory?: string;
  /** replica number -> agent command (`--agent-variant i=COMMAND`) */
  variants?: Record<string, string>;
  timeout?: string | number;
}

export interface SessionSpec {
  start?: SessionStartSpec;
  wait?: string;
  compare?: string;
  delete?: string;
  /** with delete: the replicas spared (a name, or a list) */
  keep?: string | string[];
  purge?: boolean;
  /** with wait: how long (default: the step's timeout, else 30m) */
  timeout?: string | number;
}

const VERBS = ["start", "wait", "compare", "delete"] as const;

const seconds = (v: string | number) => (typeof v === "number" ? `${v}s` : v);
const keepList = (k: SessionSpec["keep"]) =>
  (k === undefined ? [] : Array.isArray(k) ? k : [k]).filter(Boolean);

function replicaNames(s: SessionStartSpec): string[] {
  const n = s.replicas ?? 1;
  return Array.from({ length: n }, (_, i) => `${s.name}-${i + 1}`);
}

/** The kodama command line of the step (the prompt is not in it: it goes on stdin). */
export function sessionArgv(s: SessionSpec, paths: { repo?: string }, timeoutMs?: number): string[] {
  if (s.start) {
    const t = s.start;
    const a = ["start", t.name, "--replicas", String(t.replicas ?? 1)];
    const repo = paths.repo ?? t.repo;
    if (repo !== undefined) a.push("--repo", repo);
    if (t["base-branch"] !== undefined) a.push("--base-branch", t["base-branch"]);
    if (t.prompt !== undefined || t["prompt-file"] !== undefined) a.push("--prompt-file", "-");
    if (t.check !== undefined) a.push("--check", t.check);
    if (t.image !== undefined) a.push("--image", t.image);
    if (t.cpu !== undefined) a.push("--cpu", t.cpu);
    if (t.memory !== undefined) a.push("--memory", t.memory);
    for (const [i, cmd] of Object.entries(t.variants ?? {})) a.push("--agent-variant", `${i}=${cmd}`);
    if (t.timeout !== undefined) a.push("--timeout", seconds(t.timeout));
    return a;
  }
  if (s.wait !== undefined) {
    const limit = s.timeout !== undefined
      ? seconds(s.timeout)
      : `${Math.ceil((timeoutMs ?? 1_800_000) / 1000)}s`;
    return ["compare", s.wait, "--wait", "--timeout", limit, "-o", "json"];
  }
  if (s.compare !== undefined) return ["compare", s.compare, "-o", "json"];
  return [
    "delete",
    s.delete!,
    "--group",
    "--force",
    ...(s.purge ? ["--purge"] : []),
    ...keepList(s.keep).flatMap((k) => ["--keep", k]),
  ];
}

interface Row {
  name: string;
  agent?: { state: string };
  check?: { state: string };
}

/** The replicas whose agent succeeded and whose check (if any) passed, in replica order. */
export function passedReplicas(rows: Row[]): string[] {
  return rows.filter((r) => r.agent?.state === "succeeded" && (!r.check || r.check.state === "passed"))
    .map((r) => r.name);
}

async function runKodama(
  argv: string[],
  ctx: StepContext,
  stdin?: string,
): Promise<{ code: number; stdout: string }> {
  const [{ selfCommand }, { assertChildrenCanConnect }, { hostPlatform, signals }] = await Promise.all([
    import("../../base/proc/proc.ts"),
    import("../../kube/overrides.ts"),
    import("../../base/platform.ts"),
  ]);
  const kube = await wholeKube(ctx.run, "a session step");
  assertChildrenCanConnect(kube.options);
  const flags = [...ctx.run.globalFlags];
  if (!flags.includes("--context")) flags.push("--context", kube.contextName);
  if (!flags.includes("-n") && !flags.includes("--namespace")) flags.push("-n", kube.namespace);
  const [cmd, ...pre] = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, ...flags, ...argv],
    cwd: ctx.run.baseDir,
    // a workflow is a door: the child's git in a `repo` is door git (src/session/git/doorgit.ts), never the
    // repository's config, hooks or includes
    env: { KODAMA_DOOR_GIT: "1" },
    stdin: stdin !== undefined ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Ctrl-C or the step's timeout: the child cleans up as it does on Ctrl-C
  const stop = () => {
    try {
      child.kill(signals(hostPlatform()).interrupt);
    } catch { /* gone */ }
  };
  ctx.signal.addEventListener("abort", stop, { once: true });
  try {
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const dec = new TextDecoder();
    let stdout = "";
    await Promise.all([
      child.stdout.pipeTo(
        new WritableStream({ write: (c) => void (stdout += dec.decode(c, { stream: true })) }),
      ),
      child.stderr.pipeTo(new WritableStream({ write: (c) => ctx.err.write(c) })),
    ]);
    const { code } = await child.status;
    return { code, stdout };
  } finally {
    ctx.signal.removeEventListener("abort", stop);
  }
}

export const session: StepKind<SessionSpec> = {
  name: "session",
  summary:
    "best of N: start a group of agent sessions (start --replicas), wait for their agents and checks, compare them, delete them but the one kept",
  spec: ({ z, Duration }) =>
    z.object({
      start: z.object({
        name: z.string().describe("the group's name: sessions NAME-1 … NAME-N"),
        replicas: z.number().int().min(1).max(16).optional().describe("how many (default 1, at most 16)"),
        repo: z.string().optional().describe("repository to clone (a URL, or a path this workflow may read)"),
        "base-branch": z.string().optional(),
        prompt: z.string().optional().describe("the task (sent on stdin, never in a process's arguments)"),
        "prompt-file": z.string().optional().describe("a file this workflow may read holding the task"),
        check: z.string().optional().describe("shell command run in each workspace when its agent has ended"),
        image: z.string().optional(),
        cpu: z.string().optional(),
        memory: z.string().optional(),
        variants: z.record(z.string().regex(/^\d+$/), z.string()).optional().describe(
          "replica number -> another agent command, e.g. {2: claude -p --model opus}",
        ),
        timeout: Duration.optional().describe("how long each pod may take to be ready"),
      }).strict().optional(),
      wait: z.string().optional().describe("a group: wait until every agent (and its check) has ended"),
      compare: z.string().optional().describe("a group: its replicas side by side (outputs.replicas)"),
      delete: z.string().optional().describe("a group: delete its replicas but those in keep"),
      keep: z.union([z.string(), z.array(z.string())]).optional().describe("with delete: replicas spared"),
      purge: z.boolean().optional().describe("with delete: the volumes go too"),
      timeout: Duration.optional().describe("with wait: how long (default: the step's timeout, else 30m)"),
    }).strict(),
  check(s) {
    const given = VERBS.filter((v) => s[v] !== undefined);
    if (given.length !== 1) {
      return [{
        message: `give exactly one of ${VERBS.join(", ")}${given.length ? ` (got ${given.join(", ")})` : ""}`,
      }];
    }
    const out: { message: string; path?: (string | number)[] }[] = [];
    if (s.start) {
      if (s.start.prompt !== undefined && s.start["prompt-file"] !== undefined) {
        out.push({ message: "give prompt or prompt-file, not both", path: ["start"] });
      }
      for (const i of Object.keys(s.start.variants ?? {})) {
        if (Number(i) < 1 || Number(i) > (s.start.replicas ?? 1)) {
          out.push({
            message: `variant ${i}: there are replicas 1 to ${s.start.replicas ?? 1}`,
            path: ["start", "variants"],
          });
        }
      }
    }
    if ((s.keep !== undefined || s.purge !== undefined) && s.delete === undefined) {
      out.push({ message: "keep and purge go with delete" });
    }
    if (s.timeout !== undefined && s.wait === undefined) out.push({ message: "timeout here goes with wait" });
    return out;
  },
  plan(s) {
    if (s.start) {
      const t = s.start;
      const what = [
        t.repo !== undefined ? `repo ${t.repo}` : undefined,
        t.prompt !== undefined ? `prompt (${t.prompt.length} characters)` : undefined,
        t["prompt-file"] !== undefined ? `prompt from ${t["prompt-file"]}` : undefined,
        t.check !== undefined ? `check ${JSON.stringify(t.check)}` : undefined,
        ...Object.entries(t.variants ?? {}).map(([i, c]) => `${t.name}-${i} runs ${JSON.stringify(c)}`),
      ].filter(Boolean);
      return `session start: ${replicaNames(t).join(", ")} (group ${t.name}${
        what.length ? `; ${what.join("; ")}` : ""
      })`;
    }
    if (s.wait !== undefined) {
      return `session wait: until every agent of group ${s.wait} (and its check) has ended`;
    }
    if (s.compare !== undefined) return `session compare: group ${s.compare}`;
    const keep = keepList(s.keep);
    return `session delete: group ${s.delete}'s replicas${keep.length ? ` but ${keep.join(", ")}` : ""}${
      s.purge ? " and their volumes" : ""
    }`;
  },
  async run(s, ctx) {
    let stdin: string | undefined;
    let repo: string | undefined;
    if (s.start) {
      const t = s.start;
      // a repository on this machine is read (and sent to the pods): a path this workflow may read
      if (
        t.repo !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(t.repo) && !/^[^/:\\]+@[^:]+:/.test(t.repo)
      ) {
        repo = await ctx.run.confine(t.repo.replace(/^file:\/\//, ""), "read", "session repo");
        // and so must everything git reads for it: a `.git` file, a linked work tree's main repository,
        // borrowed objects and links in `.git` may lead anywhere (src/base/fs/gitpaths.ts)
        const { passRepo } = await import("../../base/fs/gitpaths.ts");
        await passRepo(repo, "session repo", (p, what) => ctx.run.confine(p, "read", what));
      }
      if (t["prompt-file"] !== undefined) {
        stdin = await Deno.readTextFile(
          await ctx.run.confine(t["prompt-file"], "read", "session prompt-file"),
        );
      } else stdin = t.prompt;
    }
    const argv = sessionArgv(s, { repo }, ctx.timeoutMs);
    const r = await runKodama(argv, ctx, stdin);
    const verb = VERBS.find((v) => s[v] !== undefined)!;
    const outputs: Record<string, unknown> = { exitCode: r.code };
    // `compare --wait` exits 1 when a replica's agent or check failed: the wait itself did its job, and the
    // workflow chooses by `passed`/`best` (a timeout, 5, or anything else is still the step's failure)
    let ok = r.code === 0;
    if (s.start) {
      outputs.group = s.start.name;
      outputs.sessions = [...r.stdout.matchAll(/^session\/(\S+) (?:ready|created)$/gm)].map((m) => m[1]);
      ctx.out.write(r.stdout);
    } else if (verb === "wait" || verb === "compare") {
      try {
        const rows = (JSON.parse(r.stdout) as { items: Row[] }).items;
        const passed = passedReplicas(rows);
        Object.assign(outputs, { replicas: rows, passed, best: passed[0] ?? "" });
        if (verb === "wait" && r.code === 1) ok = true;
        for (const row of rows) {
          ctx.out.write(
            `${row.name}: agent ${row.agent?.state ?? "none"}, check ${row.check?.state ?? "-"}\n`,
          );
        }
      } catch {
        if (r.code === 0) ctx.err.write(r.stdout);
      }
    } else {
      outputs.deleted = [...r.stdout.matchAll(/^session\/(\S+) deleted$/gm)].map((m) => m[1]);
      ctx.out.write(r.stdout);
    }
    return {
      ok,
      exitCode: ok ? 0 : r.code,
      outputs,
      ...(ok ? {} : { error: `kodama ${argv[0]}${verb === "wait" ? " --wait" : ""} exited with ${r.code}` }),
    };
  },
};
