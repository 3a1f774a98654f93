/**
 * Best of N: one task given to several agents at once.
 *
 *   startGroup    `start NAME --replicas N`: sessions NAME-1 … NAME-N started in parallel (the single
 *                 start, each with the group's labels and its own branch kodama/NAME-i-<ts>); one progress
 *                 line per replica; a replica that fails is reported while the others go on
 *   groupMembers  the replicas of a group, from the cluster (their `kodama.dev/group` label)
 *   deleteGroup   `delete NAME --group [--keep NAME-i]`: one question, then every replica but the kept ones
 *   adoptReplica  `adopt NAME-i`: the replica's branch into the local repository as kodama/NAME
 *
 * `compare` is compare.ts.
 */
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects, KubeSessions } from "../../kube/seam.ts";
import { ExitCode, KodamaError, usageError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { LiveBlock } from "../../ui/progress.ts";
import { safeLine } from "../../ui/color.ts";
import { listSessions } from "../../session/state/cluster.ts";
import { validateSessionName } from "../../session/spec/names.ts";
import { groupOf, replicaOf, type SessionView } from "../../session/state/status.ts";

export { groupOf, replicaOf };
import type { StartIO } from "../../session/lifecycle/start.ts";
import { type AgentStartOptions, checkPromptOptions, startWithAgent, withAgentRun } from "../runs/launch.ts";
import { Shared } from "../../session/lifecycle/shared.ts";
import { splitWords } from "../../base/text/words.ts";
import { choiceOfWords } from "../presets/presets.ts";
import { quote } from "../../base/text/escape.ts";
import { MAX_REPLICAS } from "./replicas.ts";
export { MAX_REPLICAS, parseReplicas } from "./replicas.ts";

export { splitWords };

/** The most replicas one group may have. */

export interface GroupStartOptions extends AgentStartOptions {
  replicas: number;
  /** `--agent-variant i=SPEC`: replica i's agent (a preset and extra arguments, or a command), for all its runs */
  variants: string[];
}

/** `--agent-variant` values -> replica number -> agent command; exit 2 on a bad one. */
export function parseVariants(values: string[], replicas: number): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const v of values) {
    const m = /^(\d+)=(.*)$/s.exec(v);
    if (!m) {
      throw usageError(
        `invalid --agent-variant ${quote(v)}: expected REPLICA=COMMAND`,
        `e.g. --agent-variant 2=codex or 3="claude --model opus" (a preset and its extra arguments, or a command)`,
      );
    }
    const i = Number(m[1]);
    if (i < 1 || i > replicas) {
      throw usageError(`--agent-variant ${i}: there are replicas 1 to ${replicas} (--replicas ${replicas})`);
    }
    if (out.has(i)) throw usageError(`--agent-variant ${i} is given twice`);
    const words = splitWords(m[2]);
    if (!words.length) throw usageError(`--agent-variant ${i}: the command is empty`);
    out.set(i, words);
  }
  return out;
}

/** Checks of `start --replicas` before anything is made (exit 2). */
export function checkGroupOptions(o: GroupStartOptions): Map<number, string[]> {
  const n = o.replicas;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw usageError(`--replicas must be a whole number from 1 to ${MAX_REPLICAS}, got ${n}`);
  }
  validateSessionName(o.name);
  validateSessionName(`${o.name}-${n}`);
  if (o.sync !== undefined) {
    throw usageError(
      "--sync cannot be used with --replicas: each replica works on its own branch",
      "start without --sync, then sync the replica you keep: kodama sync start NAME-i",
    );
  }
  if (o.branch !== undefined) {
    throw usageError(
      "--branch cannot be used with --replicas: each replica gets its own branch kodama/NAME-i-<time>",
      "start them from a branch with --base-branch",
    );
  }
  return parseVariants(o.variants, n);
}

/**
 * The replicas' lines on stderr: on a terminal one live line per replica (its latest phase), warnings
 * above them; without one, every line prefixed with the replica's name.
 */
class GroupProgress {
  private block?: LiveBlock;
  private status: string[];
  private said = new Set<string>();

  constructor(private err: Sink, private names: string[], tty: boolean) {
    this.status = names.map(() => "starting");
    if (tty) {
      this.block = new LiveBlock(err);
      this.draw();
    }
  }

  private draw(): void {
    const w = Math.max(...this.names.map((n) => n.length));
    this.block?.update(this.names.map((n, i) => `${n.padEnd(w)}  ${this.status[i]}`));
  }

  line(i: number, text: string): void {
    const t = safeLine(text);
    // each replica's own "attach with" hint: the summary names them all
    if (!t.trim() || /^attach with: /.test(t)) return;
    // what the repository's config and the env files add is the same for every replica: said once
    if (/^(settings from|env file|editor configs|note:| {2}\S)/.test(t)) {
      if (this.said.has(t)) return;
      this.said.add(t);
      if (this.block) this.block.print(t);
      else this.err.write(`${t}\n`);
      return;
    }
    if (!this.block) {
      this.err.write(`${this.names[i]}: ${t}\n`);
      return;
    }
    if (/^(warning|error|hint|recent events| {2})/.test(t)) this.block.print(`${this.names[i]}: ${t}`);
    else {
      this.status[i] = t;
      this.draw();
    }
  }

  set(i: number, text: string): void {
    this.status[i] = text;
    if (this.block) this.draw();
  }

  done(): void {
    this.block?.done();
  }

  /** A sink that turns written chunks into lines of replica i. */
  sink(i: number): Sink {
    let buf = "";
    const dec = new TextDecoder();
    return {
      write: (c) => {
        buf += typeof c === "string" ? c : dec.decode(c, { stream: true });
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.line(i, buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      },
    };
  }
}

interface ReplicaResult {
  name: string;
  ok: boolean;
  run?: string;
  error?: KodamaError | Error;
}

/** `start NAME --replicas N`: returns 0 when every replica started, else 1 (or the one code all failed with). */
export async function startGroup(
  kube: Kube,
  o: GroupStartOptions,
  cfg: Config,
  io: StartIO,
): Promise<number> {
  const variants = checkGroupOptions(o);
  // N > 1 with a prompt: one real request first (every door: CLI, web UI, MCP); a bad key starts no replica
  if (o.replicas > 1 && o.prompt !== undefined && !o.noPreflight && !o.dryRun) {
    checkPromptOptions(o);
    const { groupCheck } = await import("../credentials/preflight.ts");
    const { flagLayer } = await import("../presets/settings.ts");
    // every distinct agent of the group; a provider whose key the namespace's gateway holds asks for none here
    const viaGateway = !o.noGateway && cfg.session.gateway !== false;
    await groupCheck(
      {
        ...o,
        settings: flagLayer(o.settings ?? {}),
        variants: Array.from({ length: o.replicas }, (_, k) => {
          const v = variants.get(k + 1);
          return v ? choiceOfWords(v) : undefined;
        }),
        ...(viaGateway
          ? {
            heldByGateway: async () =>
              (await import("../gateway/session.ts")).gatewayHeldProviders(kube, o.namespace),
          }
          : {}),
      },
      cfg,
      io.err,
    );
  }
  const names = Array.from({ length: o.replicas }, (_, k) => `${o.name}-${k + 1}`);
  const { replicas: _r, variants: _v, ...single } = o;
  // what the replicas have in common (the local repository and its bundle, the owner) is done once
  const shared = new Shared();
  const optionsOf = (k: number): AgentStartOptions => ({
    ...single,
    shared,
    name: names[k],
    group: { name: o.name, replica: k + 1 },
    noSync: true,
    sync: undefined,
    // a replica's variant is its session's agent: every later run of it (--continue too) uses it
    ...(variants.has(k + 1) ? { variant: choiceOfWords(variants.get(k + 1)!) } : {}),
  });
  if (o.dryRun) return await groupDryRun(kube, o, names.map((_, k) => optionsOf(k)), cfg, io);
  if (!o.replace) {
    const { sessions } = await listSessions(kube, o.namespace);
    const taken = sessions.filter((v) => v.spec?.group?.name === o.name || names.includes(v.name));
    if (taken.length) {
      throw new KodamaError(
        `group ${quote(o.name)} already exists in namespace ${o.namespace}: ${
          taken.map((v) => v.name).join(", ")
        }`,
        ExitCode.USAGE,
        `compare it with \`kodama compare ${o.name}\`, or remove it first: kodama delete ${o.name} --group`,
      );
    }
    // that list is each replica's check that its name is free (racing starts: its Secret settles them)
    shared.namesFree = true;
  }
  io.err.write(
    `starting ${o.replicas} replica${o.replicas === 1 ? "" : "s"} of ${o.name} in namespace ${o.namespace}: ${
      names.join(", ")
    }\n`,
  );
  const progress = new GroupProgress(io.err, names, io.tty);
  const results = await Promise.all(names.map(async (name, k): Promise<ReplicaResult> => {
    const res: ReplicaResult = { name, ok: false };
    const out: Sink = {
      write: (c) => {
        for (const l of String(typeof c === "string" ? c : new TextDecoder().decode(c)).split("\n")) {
          if (/^\d+$/.test(l)) {
            res.run = l;
            progress.set(k, `ready, agent run ${l} started`);
          } else if (/ ready$/.test(l)) progress.set(k, "ready");
        }
      },
    };
    const err = progress.sink(k);
    try {
      await startWithAgent(kube, optionsOf(k), cfg, { ...io, out, err, tty: false });
      res.ok = true;
      progress.set(k, res.run ? `ready, agent run ${res.run} started` : o.noWait ? "created" : "ready");
    } catch (e) {
      res.error = e as Error;
      progress.set(k, `failed: ${(e as Error).message.split("\n")[0]}`);
      if (!io.tty) err.write(`failed: ${(e as Error).message}\n`);
    }
    return res;
  })).finally(() => shared.close());
  progress.done();
  const w = Math.max(...names.map((n) => n.length));
  for (const r of results) {
    const e = r.error;
    const what = r.ok
      ? `${o.noWait ? "created" : "ready"}${r.run ? `, agent run ${r.run} started` : ""}`
      : `FAILED: ${safeLine(e?.message ?? "")}${
        e instanceof KodamaError && e.hint ? ` (${safeLine(e.hint)})` : ""
      }`;
    io.err.write(`${r.name.padEnd(w)}  ${what}\n`);
    if (r.ok) io.out.write(`session/${r.name} ${o.noWait ? "created" : "ready"}\n`);
  }
  const failed = results.filter((r) => !r.ok);
  if (!failed.length) {
    io.err.write(
      `${o.prompt !== undefined ? "follow them with" : "see them with"}: kodama compare ${o.name}${
        o.prompt !== undefined ? " -w" : ""
      }\n`,
    );
    return ExitCode.OK;
  }
  io.err.write(`${failed.length} of ${results.length} replicas failed\n`);
  const codes = new Set(failed.map((r) => r.error instanceof KodamaError ? r.error.code : ExitCode.FAILED));
  return failed.length === results.length && codes.size === 1 ? [...codes][0] : ExitCode.FAILED;
}

/** `--dry-run` of a group: every replica's objects, one YAML stream (or one JSON List). */
/** Each replica's objects as its start would make them: its template applied, its agent chosen. */
async function groupDryRun(
  kube: KubeSessions,
  o: GroupStartOptions,
  each: AgentStartOptions[],
  cfg: Config,
  io: StartIO,
) {
  const { planSession, applyTemplate, sayForwarded, dryRunGateway, dryRunItems } = await import(
    "../../session/lifecycle/start.ts"
  );
  const server = await kube.serverVersion?.().catch(() => undefined);
  const items = [];
  for (const r of each) {
    checkPromptOptions(r);
    const opts = await applyTemplate(withAgentRun(kube, r, cfg, io), io);
    const plan = await planSession(opts, cfg, io);
    const planned = plan.data.env;
    // each replica as its real start makes it: through the namespace's gateway when it has one
    await dryRunGateway(opts, plan, io.err);
    sayForwarded(plan, planned, io.err);
    items.push(...dryRunItems(plan, server));
  }
  if ((o.output ?? "yaml") === "json") {
    const { renderList } = await import("../../ui/output.ts");
    io.out.write(renderList(items, "json"));
  } else {
    const { stringify } = await import("yaml");
    io.out.write(items.map((x) => stringify(x)).join("---\n"));
  }
  return ExitCode.OK;
}

/** The group's replicas (sorted by number); exit 3 when there are none. */
export async function groupMembers(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  group: string,
): Promise<SessionView[]> {
  const { sessions } = await listSessions(kube, namespace);
  const found = sessions.filter((v) => groupOf(v) === group).sort((a, b) => replicaOf(a) - replicaOf(b));
  if (!found.length) {
    const single = sessions.find((v) => v.name === group);
    throw new KodamaError(
      `group ${quote(group)} not found in namespace ${namespace}`,
      ExitCode.NOT_FOUND,
      single
        ? `${group} is a single session, not a group (start a group with kodama start ${group} --replicas N)`
        : "list sessions and their groups with `kodama list`",
    );
  }
  return found;
}

export interface GroupDeleteOptions {
  force?: boolean;
  purge?: boolean;
  keepConfig?: boolean;
  keep: string[];
  interactive: boolean;
  confirm: (message: string) => Promise<boolean>;
  out: Sink;
  err: Sink;
}

/** The group's judge session, when its judgement names it and it still exists (judge.ts). */
async function judgeOfGroup(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  group: string,
): Promise<{ name: string }[]> {
  const { loadJudgement, judgeSession } = await import("./judgestore.ts");
  const j = await loadJudgement(kube, namespace, group).catch(() => undefined);
  if (!j || j.judge.session !== judgeSession(group)) return [];
  const { sessions } = await listSessions(kube, namespace);
  return sessions.some((v) => v.name === j.judge.session) ? [{ name: j.judge.session }] : [];
}

/**
 * `delete NAME --group [--keep NAME-i]`: deletes the replicas (each as `delete`), then says what happened in
 * one line. Volumes follow `delete`'s one rule, with or without --keep: kept unless --purge (a discarded
 * replica's work can still be looked at, or deleted with `delete NAME-i --purge`). With --keep the others
 * are discarded without a question, the same from a script, the web UI and MCP; the whole group without
 * --keep asks once.
 */
export async function deleteGroup(
  kube: Kube,
  namespace: string,
  group: string,
  o: GroupDeleteOptions,
): Promise<number> {
  const discard = o.keep.length > 0;
  if (discard) o = { ...o, force: true };
  if (!o.force && !o.interactive) {
    throw usageError(
      `not deleting group ${group} without confirmation: no terminal to ask on`,
      "add --force (-f) to delete without asking",
    );
  }
  const members = await groupMembers(kube, namespace, group);
  for (const k of o.keep) {
    if (!members.some((v) => v.name === k)) {
      throw usageError(
        `--keep ${k}: not a replica of group ${group} (its replicas: ${
          members.map((v) => v.name).join(", ")
        })`,
      );
    }
  }
  const going: { name: string }[] = members.filter((v) => !o.keep.includes(v.name));
  // the whole group: its judge's session goes with it (the one its judgement names: never a session that
  // only shares the name GROUP-judge)
  if (!o.keep.length) going.push(...await judgeOfGroup(kube, namespace, group));
  if (!going.length) {
    o.err.write(`nothing to delete: every replica of ${group} is kept\n`);
    return ExitCode.OK;
  }
  if (!o.force) {
    const vols = o.purge ? "their volumes are deleted too (their data is lost)" : "their volumes are kept";
    const kept = o.keep.length ? `; ${o.keep.join(", ")} stays` : "";
    if (
      !await o.confirm(
        `Delete ${going.length} session${going.length === 1 ? "" : "s"} of group ${group} (${
          going.map((v) => v.name).join(", ")
        }) in namespace ${namespace}? ${vols}${kept}.`,
      )
    ) {
      o.err.write("not deleted\n");
      return ExitCode.OK;
    }
  }
  const { deleteSession } = await import("../../session/lifecycle/lifecycle.ts");
  // each replica's own lines are kept back (its warnings pass): one summary line says what happened
  const quiet: Sink = { write: () => {} };
  const warn: Sink = {
    write: (c) => {
      const t = typeof c === "string" ? c : new TextDecoder().decode(c);
      for (const l of t.split("\n")) if (/^warning:/.test(l)) o.err.write(`${l}\n`);
    },
  };
  const results = await Promise.allSettled(
    going.map((v) =>
      deleteSession(kube, namespace, v.name, { ...o, force: true, interactive: false, out: quiet, err: warn })
    ),
  );
  let code: number = ExitCode.OK;
  const done: string[] = [];
  results.forEach((r, i) => {
    if (r.status === "rejected") {
      code = ExitCode.FAILED;
      o.err.write(`error: could not delete ${going[i].name}: ${(r.reason as Error).message}\n`);
    } else done.push(going[i].name);
  });
  // the whole group gone: its judgement too (a new group of the name starts unjudged)
  if (!o.keep.length && done.length === going.length) {
    const { judgementName } = await import("./judgestore.ts");
    await kube.deleteObject("configmaps", namespace, judgementName(group)).catch(() => false);
  }
  if (done.length) {
    o.out.write(
      `deleted ${done.join(", ")} (${o.purge ? "with their volumes" : "volumes kept"})${
        o.keep.length ? `; kept ${o.keep.join(", ")}` : ""
      }\n`,
    );
  }
  return code;
}

/**
 * `adopt NAME-i`: `session fetch` of the replica (into its own kodama/NAME-i), then the local branch
 * kodama/GROUP (or --branch) points at it. Both move by the one rule of src/session/git/branchmove.ts: never a
 * branch checked out in any work tree, and only forward unless --force (nothing local is lost by surprise:
 * a forced move leaves the old commit in the branch's reflog).
 */
export async function adoptReplica(
  kube: Kube,
  namespace: string,
  name: string,
  o: { branch?: string; force?: boolean; cwd: string; out: Sink; err: Sink },
): Promise<number> {
  const { requireSession } = await import("../../session/state/cluster.ts");
  const v = await requireSession(kube, namespace, name);
  const group = groupOf(v);
  if (!group) {
    throw usageError(
      `session ${name} is not a replica of a group`,
      `fetch its branch with: kodama session fetch ${name}`,
    );
  }
  const { checkBranch } = await import("../../session/git/git.ts");
  const target = o.branch !== undefined ? checkBranch(o.branch, "--branch") : `kodama/${group}`;
  const fetched = `kodama/${name}`;
  if (target === fetched) throw usageError(`--branch ${target} is where the replica is fetched to first`);
  const forceWith = `kodama adopt ${name}${o.branch !== undefined ? ` --branch ${target}` : ""} --force`;
  // several repositories: each one's branch into its own local repository, all or none (adoptrepos.ts)
  const repos = await (await import("../../session/git/repos.ts")).reposOf(name, namespace);
  if (repos) {
    return await (await import("./adoptrepos.ts")).adoptRepos(kube, namespace, name, group, repos, {
      target,
      fetched,
      force: o.force,
      forceWith,
      out: o.out,
      err: o.err,
    });
  }
  const { fetchSession } = await import("../../session/git/fetch.ts");
  const code = await fetchSession(kube, namespace, name, {
    branch: fetched,
    overwrite: o.force,
    elsewhere: `rename it (git branch -m ${fetched} NEW) and adopt again`,
    forceWith,
    cwd: o.cwd,
    out: { write: () => {} },
    err: o.err,
  });
  if (code !== ExitCode.OK) return code;
  const [{ localGit }, { moveBranch }] = await Promise.all([
    import("../../session/git/gitrun.ts"),
    import("../../session/git/branchmove.ts"),
  ]);
  const head = (await localGit(["rev-parse", "--verify", "-q", `refs/heads/${fetched}`], o.cwd)).out;
  await moveBranch(o.cwd, target, head, {
    verb: "adopt",
    source: `${name}'s branch`,
    force: o.force,
    elsewhere: "keep both: adopt into another branch (--branch NEW)",
    forceWith,
    reflog: `kodama adopt ${name}`,
  });
  o.out.write(`${target}\n`);
  o.err.write(
    `adopted ${name}: ${target} is at ${
      head.slice(0, 12)
    }; remove the other replicas with: kodama delete ${group} --group --keep ${name}\n`,
  );
  return ExitCode.OK;
}
