/**
 * The UI's JSON API: each route calls one feature function of src/session (or src/pods, src/workflow)
 * with sinks that capture its output, the same functions the CLI's commands call. Long work (start, stop,
 * resume, delete, fetch, resolve) runs as an operation whose output and result reach the page over the
 * event stream; live lists are watch-driven and pushed as they change (./live.ts).
 */
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import type { Door } from "../config/doors.ts";
import { ExitCode, formatError, KodamaError, usageError } from "../base/errors.ts";
import { memorySink, type Sink } from "../base/sink.ts";
import { errorResponse, json, plain } from "./server.ts";
import { stripAnsi } from "../ui/color.ts";
import { Hub } from "./live.ts";
import { terminalSocket } from "./terminal.ts";
import { sse } from "./sse.ts";

export interface ApiOptions {
  cfg: Config;
  cwd: string;
  signal: AbortSignal;
  /** the door local paths from the page go through (src/config/doors.ts) */
  door: Door;
  /** the live lists, when the server started them already (default: started by the first page) */
  hub?: Hub;
}

/** A session name as kodama accepts it (src/session/spec/names.ts checks it fully). */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function name(s: string | undefined): string {
  const n = decodeURIComponent(s ?? "");
  if (!NAME.test(n) || n.length > 63) throw usageError(`not a session name: ${JSON.stringify(n)}`);
  return n;
}

/** The most a request body may hold: a page's JSON is small; more is refused before it is read whole. */
export const MAX_BODY_BYTES = 1024 * 1024;

async function body(req: Request): Promise<Record<string, unknown>> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of req.body ?? []) {
    n += c.length;
    if (n > MAX_BODY_BYTES) {
      throw usageError(`the request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    }
    chunks.push(c);
  }
  const all = new Uint8Array(n);
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  const text = new TextDecoder().decode(all);
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch { /* below */ }
  throw usageError("the request body is not a JSON object");
}

const str = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
const strs = (v: unknown): string[] =>
  Array.isArray(v)
    ? v.filter((x): x is string => typeof x === "string" && x.trim() !== "").map((x) => x.trim())
    : [];

export class Api {
  readonly hub: Hub;
  constructor(readonly kube: Kube, readonly o: ApiOptions) {
    this.hub = o.hub ?? new Hub(kube, o.signal);
  }

  close(): void {
    this.hub.close();
  }

  async handle(req: Request, url: URL, upgrade: boolean): Promise<Response> {
    const parts = url.pathname.split("/").slice(2); // ["sessions", NAME, ...]
    const m = req.method;
    const [area, id, verb, ...rest] = parts;
    if (area === "info" && m === "GET") {
      return json({
        context: this.kube.contextName,
        namespace: this.kube.namespace,
        cwd: this.o.cwd,
      });
    }
    if (area === "events" && m === "GET") return this.hub.stream();
    if (area === "start-options" && m === "GET") return await this.startOptions();
    if (area === "workflows") return await this.workflows(req, id, verb);
    if (area === "pods" || area === "forwards") {
      const { podsRoute } = await import("./pods.ts");
      return await podsRoute(this.kube, req, url, parts, upgrade, this.o.signal);
    }
    if (area === "groups" && id) return await this.group(req, name(id), verb);
    if (area === "sessions") {
      if (id === undefined || id === "") {
        if (m === "POST") return await this.start(await body(req));
        return plain(405, "method not allowed");
      }
      const s = name(id);
      if (verb === "terminal" && upgrade) return terminalSocket(req, this.kube, s, this.o.cfg.session.shell);
      if (m === "POST") return await this.sessionVerb(s, verb, await body(req));
      if (m === "GET") return await this.sessionGet(req, s, verb, rest);
    }
    return plain(404, "not found");
  }

  /** Run `fn` as an operation: 202 with its id now; its output and end go to every page as `op` events. */
  op(title: string, fn: (out: Sink) => Promise<number>): Response {
    const op = this.hub.newOp(title);
    (async () => {
      let code: number;
      let error: string | undefined;
      try {
        code = await fn(op.sink);
      } catch (e) {
        code = e instanceof KodamaError ? e.code : ExitCode.FAILED;
        error = stripAnsi(formatError(e)).trim();
      }
      this.hub.endOp(op.id, code, error);
    })();
    return json({ op: op.id }, 202);
  }

  /**
   * `kodama start` from the dialog: the body's fields are the flags (`replicas` > 0 starts a best-of-N group
   * as `start --replicas` does). Before the operation, a dry run of the same start makes every check the CLI
   * makes before it creates anything (name, template, durations, replicas, agent, sync mode, the door's
   * paths): a bad value is this request's error (exit 2's message and hint), not a failed operation.
   */
  private async start(b: Record<string, unknown>): Promise<Response> {
    const n = name(str(b.name));
    const sync = str(b.sync);
    // several repositories: `repo` and each of `repos` as the CLI's --repo values (PATH[=NAME][:ro]); each path
    // passes the door in start, as `repo` does (src/session/git/gitrun.ts localSource)
    const many = [...(str(b.repo) ? [str(b.repo)!] : []), ...strs(b.repos)];
    const opts = {
      name: n,
      namespace: this.kube.namespace,
      template: str(b.template),
      image: str(b.image),
      cpu: str(b.cpu),
      memory: str(b.memory),
      storage: str(b.storage),
      storageClass: str(b.storageClass),
      idleStop: str(b.idleStop),
      ttl: str(b.ttl),
      envFiles: strs(b.envFiles),
      envExclude: strs(b.envExclude),
      repo: many.length > 1 ? undefined : many[0],
      ...(many.length > 1 ? { repos: many } : {}),
      branch: str(b.branch),
      baseBranch: str(b.baseBranch),
      prompt: str(b.prompt),
      agentName: str(b.agent),
      syncMode: str(b.syncMode),
      // the UI syncs only what it is told to: the server's directory is not the page's project
      ...(sync ? { sync } : { noSync: true }),
    };
    const [{ startWithAgent }, { startGroup, parseReplicas }, { startIO }] = await Promise.all([
      import("../agent/runs/launch.ts"),
      import("../agent/group/group.ts"),
      import("../session/commands.ts"),
    ]);
    const r = b.replicas;
    const count = r === undefined || r === null || r === ""
      ? undefined
      : parseReplicas(typeof r === "number" ? r : String(r));
    const run = async (o: typeof opts & { dryRun?: boolean }, out: Sink) => {
      const io = { ...(await startIO(this.o.cwd, out, out)), door: this.o.door };
      return count === undefined
        ? await startWithAgent(this.kube, o, this.o.cfg, io)
        : await startGroup(this.kube, { ...o, replicas: count, variants: [] }, this.o.cfg, io);
    };
    await run({ ...opts, dryRun: true }, memorySink());
    const title = count === undefined
      ? `start ${n}`
      : `start ${n} (${count} replica${count === 1 ? "" : "s"})`;
    return this.op(title, (out) => run(opts, out));
  }

  /**
   * What the start dialog offers: the templates (`kodama template list`'s own function), the agent presets,
   * the sync modes, the most replicas, and the defaults a field left empty gets.
   */
  private async startOptions(): Promise<Response> {
    const [
      { templateListCommand },
      { PRESET_NAMES, configChoice },
      { MAX_REPLICAS },
      { SYNC_MODES },
      { keyInfo },
    ] = await Promise.all([
      import("../session/spec/template_cmd.ts"),
      import("../agent/presets/presets.ts"),
      import("../agent/group/group.ts"),
      import("../session/lifecycle/start.ts"),
      import("../config/keys.ts"),
    ]);
    const allowed: readonly unknown[] = keyInfo("sync.mode")?.repoRule?.allowed ?? SYNC_MODES;
    const out = memorySink(), err = memorySink();
    await templateListCommand({ cwd: this.o.cwd, out, err }, "json");
    const cfg = this.o.cfg;
    return json({
      templates: JSON.parse(out.text()),
      warnings: stripAnsi(err.text()).split("\n").filter(Boolean),
      agents: [...PRESET_NAMES, "custom"],
      // what a page may choose: a repository's rule (no one-way-pod), or what your config already says
      syncModes: SYNC_MODES.filter((m) => m === cfg.sync.mode || allowed.includes(m)),
      maxReplicas: MAX_REPLICAS,
      defaults: {
        agent: configChoice(cfg)?.preset ?? "claude",
        syncMode: cfg.sync.mode,
        idleStop: cfg.defaults.idleStop,
        ttl: cfg.defaults.ttl,
        image: cfg.defaults.image,
      },
    });
  }

  private async sessionVerb(
    s: string,
    verb: string | undefined,
    b: Record<string, unknown>,
  ): Promise<Response> {
    const k = this.kube;
    const life = () => import("../session/lifecycle/lifecycle.ts");
    // door git for what writes into the repository (src/session/git/doorgit.ts): its config and hooks never read
    const doorGit = async <R>(dir: string, fn: () => Promise<R>) =>
      await (await import("../session/git/doorgit.ts")).withDoorGit(dir, fn);
    if (
      verb === "adopt" || verb === "land" || verb === "fetch" || verb === "pr" ||
      (verb === "continue" && b.fromPr === true)
    ) {
      // they write into the repository of the server's directory: everything git keeps for it must pass the
      // door (a `.git` file there may name another repository: src/base/fs/gitpaths.ts)
      const { repoThroughDoor } = await import("../session/git/gitrun.ts");
      await repoThroughDoor(this.o.door, this.o.cwd, "the repository of the server's directory");
    }
    switch (verb) {
      case "stop":
        return this.op(
          `stop ${s}`,
          async (out) => await (await life()).stopSession(k, k.namespace, s, { wait: true, out, err: out }),
        );
      case "resume":
        return this.op(`resume ${s}`, async (out) => {
          const { startIO } = await import("../session/commands.ts");
          return await (await life()).resumeSession(
            k,
            k.namespace,
            s,
            {},
            this.o.cfg,
            await startIO(this.o.cwd, out, out),
          );
        });
      case "delete":
        // the page asked the user (its dialog names what goes); this is the confirmed request
        return this.op(`delete ${s}`, async (out) =>
          await (await life()).deleteSession(k, k.namespace, s, {
            force: true,
            purge: b.purge === true,
            interactive: false,
            confirm: () => Promise.resolve(false),
            out,
            err: out,
          }));
      case "adopt":
        // `kodama adopt NAME-i`: the replica's branch into the local repository as kodama/GROUP
        return this.op(`adopt ${s}`, async (out) => {
          const { adoptReplica } = await import("../agent/group/group.ts");
          return await doorGit(
            this.o.cwd,
            () => adoptReplica(k, k.namespace, s, { cwd: this.o.cwd, out, err: out }),
          );
        });
      case "land":
        // `kodama session land NAME`: the session's commits onto the current branch of the server's repository
        return this.op(`land ${s}`, async (out) => {
          const { landCommand } = await import("../agent/runs/land.ts");
          return await doorGit(
            this.o.cwd,
            () =>
              landCommand(
                k,
                s,
                { rebase: b.rebase === true, door: this.o.door },
                { out, err: out },
                this.o.cwd,
              ),
          );
        });
      case "fetch":
        return this.op(`fetch ${s}`, async (out) => {
          const { fetchSession } = await import("../session/git/fetch.ts");
          return await doorGit(
            this.o.cwd,
            () =>
              fetchSession(k, k.namespace, s, {
                branch: str(b.branch),
                cwd: this.o.cwd,
                out,
                err: out,
                door: this.o.door,
              }),
          );
        });
      case "pr":
        // `kodama session pr NAME`: only draft/ready and a title from the page (src/agent/forge/doorpr.ts)
        return this.op(`pull request ${s}`, async (out) => {
          const { doorPr, prLines } = await import("../agent/forge/doorpr.ts");
          const r = await doorPr(k, s, { draft: b.draft === true, ready: b.ready === true, title: b.title }, {
            cwd: this.o.cwd,
            hosts: this.o.cfg.forge.hosts,
            err: out,
            door: this.o.door,
          });
          out.write(prLines(r));
          return 0;
        });
      case "agent": {
        const prompt = str(b.prompt);
        if (!prompt) throw usageError("the prompt is empty");
        const { startRun } = await import("../agent/runs/agentrun.ts");
        const err = memorySink();
        const run = await startRun(k, k.namespace, s, {
          prompt,
          cfg: this.o.cfg,
          check: this.o.cfg.agent.check,
          stallTimeout: this.o.cfg.agent.stallTimeout,
          out: err,
          err,
        });
        this.hub.refreshAgent(s);
        return json({ run });
      }
      // issue 65: talk to the running agent; the same feature functions as `agent say|interrupt`
      case "say": {
        const { agentSay } = await import("../agent/runs/say.ts");
        const err = memorySink();
        const [r] = await agentSay(k, k.namespace, s, b.message as string, { cfg: this.o.cfg, err });
        this.hub.refreshAgent(s);
        return json(r);
      }
      case "interrupt": {
        const { agentInterrupt } = await import("../agent/runs/say.ts");
        const [r] = await agentInterrupt(k, k.namespace, s);
        this.hub.refreshAgent(s);
        return json(r);
      }
      case "continue":
        // with the request's feedback (`agent run --continue --from-pr`): the repository of the server's
        // directory, the user's config and environment; the page gives no token, URL or API base
        if (b.fromPr === true) {
          const fp = await import("../agent/forge/frompr.ts");
          const { againRun } = await import("../agent/runs/retry.ts");
          const r = await doorGit(
            this.o.cwd,
            () => fp.prepareFromPr(k, s, { cwd: this.o.cwd, ...fp.userForgeOptions(this.o.cfg) }),
          );
          if (!r.prompt) return json({ run: null, message: fp.nothingToDo(s, r) });
          const run = await againRun(k, k.namespace, s, "continue", {
            cfg: this.o.cfg,
            err: memorySink(),
            prompt: r.prompt,
          });
          await r.record();
          this.hub.refreshAgent(s);
          const notes = fp.outsideNote(r).trim().split("\n").filter(Boolean).map((l) => l.slice(6));
          const note = notes.length ? ` (${notes.join("; ")})` : "";
          return json({ run, message: `run ${run} continues with ${r.request}'s feedback${note}` });
        }
      /* falls through */
      case "retry": {
        const { againRun } = await import("../agent/runs/retry.ts");
        const run = await againRun(k, k.namespace, s, verb, { cfg: this.o.cfg, err: memorySink() });
        this.hub.refreshAgent(s);
        return json({ run });
      }
      case "resolve": {
        const keep = str(b.keep);
        const paths = strs(b.paths);
        return this.op(`resolve ${paths.join(", ") || "all"} in ${s}: keep ${keep}`, async (out) => {
          const { resolveCommand, syncTarget } = await import("../session/sync/commands.ts");
          // a repository of a session with several: its name is checked (one directory name) like a flag's
          const key = syncTarget(s, b.repo === undefined ? undefined : str(b.repo));
          const code = await resolveCommand(k, key, paths, { keep, all: b.all === true }, out);
          this.hub.touchSync();
          return code;
        });
      }
    }
    return plain(404, "not found");
  }

  private async sessionGet(
    req: Request,
    s: string,
    verb: string | undefined,
    rest: string[],
  ): Promise<Response> {
    const k = this.kube;
    switch (verb) {
      case undefined:
      case "": {
        const [{ requireSession }, { sessionRow }] = await Promise.all([
          import("../session/state/cluster.ts"),
          import("../session/state/live.ts"),
        ]);
        return json(sessionRow(await requireSession(k, k.namespace, s)));
      }
      case "runs": {
        if (rest[0] !== undefined && rest[1] === "log") return this.runLog(req, s, rest[0]);
        const { runningPod, listRuns } = await import("../agent/runs/agentrun.ts");
        const runs = await listRuns(k, await runningPod(k, k.namespace, s));
        this.hub.noteRuns(s, runs);
        const { runForOutput } = await import("../agent/outcome/runtruth.ts");
        // each with its outcome (`succeeded (no changes)`) and notes (`denied: 3 tool uses`)
        return json(runs.map(runForOutput));
      }
      case "diff": {
        const { fetchSession } = await import("../session/git/fetch.ts");
        const out = memorySink();
        try {
          await fetchSession(k, k.namespace, s, { diff: true, cwd: this.o.cwd, out, err: out });
        } catch (e) {
          if (e instanceof KodamaError && e.code === ExitCode.NOT_FOUND) {
            return json({ diff: "", note: e.message });
          }
          throw e;
        }
        return json({ diff: out.text() });
      }
      case "sync": {
        const { syncData, bothVersions, syncTarget } = await import("../session/sync/commands.ts");
        const q = new URL(req.url).searchParams;
        const path = q.get("path");
        if (path !== null) {
          return json(await bothVersions(k, syncTarget(s, q.get("repo") ?? undefined), path));
        }
        return json(await syncData(s, k.namespace));
      }
    }
    return plain(404, "not found");
  }

  /**
   * A group of replicas (`start --replicas`): its comparison, the rows `kodama compare` prints (one exec per
   * replica, all at once); `delete` removes the group as `kodama delete NAME --group [--keep NAME-i]` does
   * (the page asked first: its dialog names what goes and what stays).
   */
  private async group(req: Request, g: string, verb: string | undefined): Promise<Response> {
    const k = this.kube;
    if (req.method === "GET" && !verb) {
      const { rankedGroup } = await import("../agent/group/compare.ts");
      // each with its judge's rank and reason when the group was judged (compare GROUP --judge)
      const { rows: items, judgement } = await rankedGroup(k, k.namespace, g);
      // what was read tells the list too: a running agent (started from the CLI, say) is followed to its end
      for (const r of items) {
        if (r.agent) {
          const state = r.agent.state === "checking" ? "running" : r.agent.state;
          this.hub.noteRuns(r.name, [{ id: r.agent.run, state }]);
        }
      }
      return json({
        group: g,
        namespace: k.namespace,
        items,
        ...(judgement
          ? { judgement: { at: judgement.at, judge: judgement.judge, unranked: judgement.unranked } }
          : {}),
      });
    }
    if (req.method === "POST" && verb === "delete") {
      const b = await body(req);
      const keep = strs(b.keep).map((x) => name(x));
      return this.op(
        `delete group ${g}${keep.length ? ` (keep ${keep.join(", ")})` : ""}`,
        async (out) => {
          const { deleteGroup } = await import("../agent/group/group.ts");
          return await deleteGroup(k, k.namespace, g, {
            force: true,
            purge: b.purge === true,
            keep,
            interactive: false,
            confirm: () => Promise.resolve(false),
            out,
            err: out,
          });
        },
      );
    }
    if (req.method === "POST" && verb === "continue") {
      // every replica whose latest run failed: continued with its agent's continue arguments (the CLI's
      // `agent run GROUP --continue`), the config of the directory the UI was started in
      return this.op(`continue group ${g}`, async (out) => {
        const [{ continueGroup, reportGroupContinue }, { CONTINUE_PROMPT }, { loadConfig }] = await Promise
          .all([
            import("../agent/group/groupcontinue.ts"),
            import("../agent/runs/prompts.ts"),
            import("../config/load.ts"),
          ]);
        const cfg = (await loadConfig({ cwd: this.o.cwd })).values;
        const r = await continueGroup(k, k.namespace, g, { prompt: CONTINUE_PROMPT, cfg, out, err: out });
        return reportGroupContinue(g, r, out, out);
      });
    }
    return plain(404, "not found");
  }

  /**
   * Workflows: the list; a run. A workflow that asks for permissions and is not trusted in this version
   * answers 409 with the trust question (what it may touch, as `kodama run` lists it); the page shows it as
   * a dialog and runs it only when the person confirms, sending back the content hash they accepted.
   */
  private async workflows(req: Request, id: string | undefined, verb: string | undefined): Promise<Response> {
    const data = await import("../workflow/data.ts");
    if (!id && req.method === "GET") return json(await data.workflowInfos(this.o.cwd));
    // a name as the list shows it, never a file by its path (`x.yaml` would be read in the cwd, links followed)
    const wf = this.o.door.workflowName(decodeURIComponent(id ?? ""));
    if (verb === "run" && req.method === "POST") {
      const b = await body(req);
      const params: Record<string, string> = {};
      if (b.params && typeof b.params === "object") {
        for (const [k, v] of Object.entries(b.params as Record<string, unknown>)) {
          if (typeof v === "string" && v !== "") params[k] = v;
        }
      }
      const trustedSha = str(b.trustedSha);
      if (trustedSha === undefined) {
        const q = await data.trustQuestion(wf, this.o.cwd);
        if (q) return json({ error: `workflow ${wf} is not trusted`, trust: q }, 409);
      }
      return this.op(`run ${wf}`, async (out) =>
        await data.runWorkflowData(wf, {
          params,
          trustedSha,
          cwd: this.o.cwd,
          connect: () => Promise.resolve(this.kube),
          globalFlags: this.kube.childFlags(),
          out,
          signal: this.o.signal,
          door: this.o.door,
        }));
    }
    return plain(404, "not found");
  }

  /** A run's log as server-sent events: what is there, then each chunk as it is written, until the run ends. */
  private runLog(req: Request, s: string, run: string): Response {
    const k = this.kube;
    return sse(req, this.o.signal, async (send, signal) => {
      const dec = new TextDecoder();
      try {
        const { agentLogs } = await import("../agent/runs/agentrun.ts");
        const { isReplacedLine } = await import("../session/state/replaced.ts");
        await agentLogs(k, k.namespace, s, {
          run,
          follow: true,
          format: "text",
          signal,
          out: { write: (c) => send("log", typeof c === "string" ? c : dec.decode(c, { stream: true })) },
          // the one line of a pod the cluster replaced (issue 80), shown by the pane beside its state
          err: {
            write: (c) => {
              for (const l of (typeof c === "string" ? c : new TextDecoder().decode(c)).split("\n")) {
                if (isReplacedLine(l)) send("note", { text: l.replace(/^kodama: /, "").trim() });
              }
            },
          },
        });
        send("end", {});
      } finally {
        this.hub.refreshAgent(s);
      }
    });
  }
}

export { errorResponse };
