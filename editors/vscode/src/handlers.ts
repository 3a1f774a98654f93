/**
 * The command handlers: each asks with QuickPicks and input boxes, reads data from `kodama … -o json`
 * and runs the work in a terminal (`createTerminal({shellPath, shellArgs})`: the program and its
 * argv, no shell). They take the VS Code API as a parameter (api.ts) so the integration tests drive
 * them with a fake and the real kodama CLI.
 */
import type { Api, EditorContext, Memento, QuickPickItem } from "./api.ts";
import * as argv from "./argv.ts";
import type { Conn, PodTarget } from "./argv.ts";
import { type CliConfig, runCli, runJson, terminalSpec } from "./cli.ts";
import { type ManifestContext, manifestContextAt } from "./manifest.ts";

export interface Ctx {
  api: Api;
  cli: CliConfig;
  /** the status bar's context and namespace */
  conn: Conn;
  /** command history and recent pods */
  state: Memento;
  /** the active editor, if any */
  editor?: EditorContext;
  /** the workspace folder (cwd of `kodama run`, `session start`, `session fetch`) */
  cwd?: string;
  /** every folder of the workspace (a multi-root workspace has several) */
  folders?: string[];
}

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
  };
  spec?: {
    containers?: {
      name: string;
      ports?: { containerPort: number; name?: string }[];
    }[];
    nodeName?: string;
  };
  status?: { phase?: string; containerStatuses?: { ready?: boolean }[] };
}

export interface PodItem extends QuickPickItem {
  pod?: Pod;
  /** "every pod of the selector" (logs) */
  all?: boolean;
}

const HISTORY = "kodama.commandHistory";
const RECENT = "kodama.recentPods";
export const HISTORY_MAX = 30;

export class Cancelled extends Error {}

/** Stop here quietly (the user pressed Escape). */
function need<T>(v: T | undefined): T {
  if (v === undefined) throw new Cancelled();
  return v;
}

/** A terminal running `kodama ...args`; it stays with its output after the command ends unless `hold` is false. */
function terminal(ctx: Ctx, args: string[], o: { hold?: boolean; env?: Record<string, string> } = {}): void {
  const spec = terminalSpec(ctx.cli, argv.terminalName(args), args, ctx.cwd);
  ctx.api.window.createTerminal({
    ...spec,
    ...(o.env ? { env: { ...spec.env, ...o.env } } : {}),
    hold: o.hold ?? true,
  }).show();
}

/** The manifest under the cursor, when the active editor holds one. */
export function editorContext(ctx: Ctx): ManifestContext | undefined {
  if (!ctx.editor || !/\.ya?ml$/i.test(ctx.editor.fileName)) return undefined;
  return manifestContextAt(ctx.editor.text, ctx.editor.offset);
}

/** QuickPick of namespaces (the current one first). */
export async function pickNamespace(
  ctx: Ctx,
  title = "Namespace",
): Promise<string> {
  const items = (async () => {
    const list = argv.parseCompletion(
      await runCli(ctx.cli, argv.completeArgs(ctx.conn, "namespace"), {
        env: argv.COMPLETE_ENV,
      }),
    );
    const cur = ctx.conn.namespace;
    const sorted = cur
      ? [
        ...list.filter((n) => n.value === cur),
        ...list.filter((n) => n.value !== cur),
      ]
      : list;
    return sorted.map((n) => ({
      label: n.value,
      description: n.value === cur ? "current" : n.description,
    }));
  })();
  const picked = await ctx.api.window.showQuickPick(items, {
    title,
    placeHolder: "type to filter namespaces",
  });
  return need(picked).label;
}

function ready(p: Pod): string {
  const cs = p.status?.containerStatuses ?? [];
  return `${cs.filter((c) => c.ready).length}/${p.spec?.containers?.length ?? cs.length}`;
}

function podItem(p: Pod, allNamespaces = false): PodItem {
  return {
    label: p.metadata.name,
    description: `${allNamespaces ? p.metadata.namespace + "  " : ""}${ready(p)} ${p.status?.phase ?? ""}`
      .trim(),
    detail: p.spec?.nodeName ? `node ${p.spec.nodeName}` : undefined,
    pod: p,
  };
}

export interface Choice {
  namespace: string;
  target: PodTarget;
  pods: Pod[];
  /** the manifest the choice came from */
  from?: ManifestContext;
}

/** The pods a command offers: the editor's manifest, else a namespace QuickPick. */
export async function podChoices(ctx: Ctx): Promise<Choice> {
  const m = editorContext(ctx);
  if (m?.note && !m.selector && !m.pod) {
    void ctx.api.window.showInformationMessage(m.note);
  }
  if (m && (m.selector || m.pod)) {
    const namespace = m.namespace ?? ctx.conn.namespace ?? "default";
    const t: PodTarget = m.pod ? { namespace, match: undefined } : { namespace, selector: m.selector };
    const list = await runJson<{ items: Pod[] }>(
      ctx.cli,
      argv.podsArgs(ctx.conn, t),
    );
    const pods = m.pod ? list.items.filter((p) => p.metadata.name === m.pod) : list.items;
    return {
      namespace,
      target: m.pod ? { namespace, pod: m.pod } : t,
      pods,
      from: m,
    };
  }
  const namespace = await pickNamespace(ctx);
  const list = await runJson<{ items: Pod[] }>(
    ctx.cli,
    argv.podsArgs(ctx.conn, { namespace }),
  );
  return { namespace, target: { namespace }, pods: list.items };
}

function fromText(c: Choice): string {
  if (!c.from) return `in ${c.namespace}`;
  const what = c.from.pod ? `pod ${c.from.pod}` : `${c.from.kind} ${c.from.name ?? ""} (${c.from.selector})`;
  return `of ${what.replace(" ()", "")} in ${c.namespace}`;
}

/** QuickPick of one pod among the choices (filtered as you type). */
export async function pickPod(
  ctx: Ctx,
  c: Choice,
  o: { title: string; offerAll?: boolean },
): Promise<PodItem> {
  if (!c.pods.length) {
    const msg = `no pods ${fromText(c)}`;
    void ctx.api.window.showErrorMessage(msg);
    throw new Cancelled(msg);
  }
  const items: PodItem[] = c.pods.map((p) => podItem(p));
  if (o.offerAll && c.pods.length > 1) {
    items.unshift({
      label: `All ${c.pods.length} pods`,
      description: fromText(c),
      all: true,
      alwaysShow: true,
    });
  }
  return need(
    await ctx.api.window.showQuickPick(items, {
      title: `${o.title} — pods ${fromText(c)}`,
      placeHolder: "type to filter pods",
      matchOnDescription: true,
    }),
  );
}

async function pickContainer(ctx: Ctx, p: Pod): Promise<string | undefined> {
  const cs = p.spec?.containers ?? [];
  if (cs.length < 2) return undefined;
  const picked = await ctx.api.window.showQuickPick(
    cs.map((c) => ({ label: c.name })),
    {
      title: `Container of ${p.metadata.name}`,
    },
  );
  return need(picked).label;
}

/** A command line: pick one from the history or type a new one (a QuickPick the user can type into). */
export function pickCommand(ctx: Ctx, title: string): Promise<string> {
  const history = ctx.state.get<string[]>(HISTORY) ?? [];
  return new Promise<string>((resolve, reject) => {
    const qp = ctx.api.window.createQuickPick<QuickPickItem>();
    qp.title = title;
    qp.placeholder = "command to run (Enter with nothing typed: a shell); history below";
    const base = history.map((h) => ({ label: h, description: "history" }));
    qp.items = base;
    let done = false;
    const subs = [
      qp.onDidChangeValue((v) => {
        qp.items = v && !history.includes(v)
          ? [{ label: v, description: "run", alwaysShow: true }, ...base]
          : base;
      }),
      qp.onDidAccept(() => {
        done = true;
        resolve(qp.selectedItems[0]?.label ?? qp.value);
        qp.hide();
      }),
      qp.onDidHide(() => {
        for (const s of subs) s.dispose();
        qp.dispose();
        if (!done) reject(new Cancelled());
      }),
    ];
    qp.show();
  }).then(async (cmd) => {
    const t = cmd.trim();
    if (t) {
      await ctx.state.update(
        HISTORY,
        [t, ...history.filter((h) => h !== t)].slice(0, HISTORY_MAX),
      );
    }
    return t;
  });
}

async function remember(ctx: Ctx, p: Pod): Promise<void> {
  const recent = ctx.state.get<{ namespace: string; name: string }[]>(RECENT) ??
    [];
  const me = { namespace: p.metadata.namespace, name: p.metadata.name };
  await ctx.state.update(
    RECENT,
    [
      me,
      ...recent.filter((r) => r.namespace !== me.namespace || r.name !== me.name),
    ].slice(0, 10),
  );
}

export function recentPods(
  state: Memento,
): { namespace: string; name: string }[] {
  return state.get<{ namespace: string; name: string }[]>(RECENT) ?? [];
}

/** `Kodama: Exec in Pod…` */
export async function execInPod(
  ctx: Ctx,
  preset?: { namespace: string; name: string },
): Promise<string[]> {
  let pod: Pod;
  if (preset) pod = { metadata: { ...preset } };
  else {
    const c = await podChoices(ctx);
    pod = need((await pickPod(ctx, c, { title: "Exec in Pod" })).pod);
  }
  const container = preset ? undefined : await pickContainer(ctx, pod);
  const cmd = await pickCommand(ctx, `Exec in ${pod.metadata.name}`);
  const args = argv.execArgs(
    ctx.conn,
    { namespace: pod.metadata.namespace, pod: pod.metadata.name, container },
    argv.podCommand(cmd),
  );
  await remember(ctx, pod);
  // a shell ends when the user leaves it; a command's output stays
  terminal(ctx, args, { hold: cmd !== "" });
  return args;
}

/** `Kodama: Exec in All Matching Pods…`: the fan-out (prefixed lines, a summary) in a terminal. */
export async function execInAll(ctx: Ctx): Promise<string[]> {
  const m = editorContext(ctx);
  const namespace = m?.namespace ??
    (m?.selector ? ctx.conn.namespace ?? "default" : await pickNamespace(ctx));
  const selector = need(
    await ctx.api.window.showInputBox({
      title: `Exec in all matching pods in ${namespace}`,
      prompt: "label selector (e.g. app=api,tier!=cache); empty: every pod",
      value: m?.selector ?? "",
    }),
  ).trim();
  const list = await runJson<{ items: Pod[] }>(
    ctx.cli,
    argv.podsArgs(ctx.conn, { namespace, selector }),
  );
  if (!list.items.length) {
    const msg = `no pods match ${selector || "(every pod)"} in ${namespace}`;
    void ctx.api.window.showErrorMessage(msg);
    throw new Cancelled(msg);
  }
  const cmd = await pickCommand(
    ctx,
    `Exec in ${list.items.length} pods (${selector || "every pod"})`,
  );
  const args = argv.execAllArgs(
    ctx.conn,
    { namespace, selector: selector || undefined },
    cmd ? argv.podCommand(cmd) : ["sh", "-c", "hostname"],
  );
  terminal(ctx, args);
  return args;
}

/** `Kodama: Logs…`: one pod, or every pod of the manifest's selector. */
export async function logs(
  ctx: Ctx,
  preset?: { namespace: string; name: string },
): Promise<string[]> {
  let t: PodTarget;
  if (preset) t = { namespace: preset.namespace, pod: preset.name };
  else {
    const c = await podChoices(ctx);
    const picked = await pickPod(ctx, c, { title: "Logs", offerAll: true });
    if (picked.all) t = c.target;
    else {
      const p = need(picked.pod);
      await remember(ctx, p);
      t = { namespace: p.metadata.namespace, pod: p.metadata.name };
    }
  }
  const args = argv.logsArgs(ctx.conn, t, { tail: 200 });
  terminal(ctx, args);
  return args;
}

/** `Kodama: Port-Forward…`: in the background (`--detach`); Stop Port-Forward ends it. */
export async function portForward(ctx: Ctx): Promise<string[]> {
  const c = await podChoices(ctx);
  const p = need((await pickPod(ctx, c, { title: "Port-Forward" })).pod);
  const ports = (p.spec?.containers ?? []).flatMap((x) => x.ports ?? []).map((
    x,
  ) => String(x.containerPort));
  const given = need(
    await ctx.api.window.showInputBox({
      title: `Port-forward to ${p.metadata.name}`,
      prompt: "ports: LOCAL:REMOTE or REMOTE (a free local port: :REMOTE), separated by spaces",
      value: ports.map((x) => `:${x}`).join(" "),
      validateInput: (v) => {
        const bad = v.trim().split(/\s+/).find((x) => !argv.PORT_RE.test(x));
        return !v.trim()
          ? "at least one port"
          : bad
          ? `not a port: ${bad} (8080, 9000:8080, :8080 or :http)`
          : undefined;
      },
    }),
  );
  const args = argv.portForwardArgs(
    ctx.conn,
    { namespace: p.metadata.namespace, pod: p.metadata.name },
    given.trim().split(/\s+/),
    true,
  );
  const out = await runCli(ctx.cli, args);
  await remember(ctx, p);
  void ctx.api.window.showInformationMessage(
    out.trim().split("\n").filter(Boolean).join("; "),
  );
  return args;
}

interface Forward {
  id: string;
  namespace?: string;
  pod?: string;
  target?: string;
  ports?: { local?: number; remote?: number | string }[];
}

/** `Kodama: Stop Port-Forward…`: pick among `port-forward list -o json` (several at once). */
export async function stopPortForward(ctx: Ctx): Promise<string[]> {
  const list = await runJson<Forward[]>(ctx.cli, argv.portForwardListArgs());
  if (!list.length) {
    void ctx.api.window.showInformationMessage(
      "no port-forwards are running on this machine",
    );
    throw new Cancelled();
  }
  const items = list.map((f) => ({
    label: f.id,
    description: [f.namespace, f.target ?? f.pod].filter(Boolean).join("/"),
    detail: (f.ports ?? []).map((p) => `${p.local} → ${p.remote}`).join(", "),
  }));
  const picked = need(
    await ctx.api.window.showQuickPick(items, {
      title: "Stop port-forwards",
      canPickMany: true,
    }),
  );
  if (!picked.length) throw new Cancelled();
  const args = argv.portForwardStopArgs(picked.map((i) => i.label));
  await runCli(ctx.cli, args);
  return args;
}

interface WorkflowRow {
  name: string;
  source: string;
  file: string;
  description: string;
  shadowedBy?: unknown;
}

export interface WorkflowInfo {
  name: string;
  file: string;
  params: {
    name: string;
    type: string;
    description?: string;
    default?: string | number | boolean;
    required: boolean;
    values?: string[];
  }[];
  trust: {
    needed: boolean;
    trusted: boolean;
    changed: boolean;
    lines: string[];
    sha256?: string;
  };
}

/** `Kodama: Run Workflow…` (or the CodeLens, with the file): params, the trust question, a terminal. */
export async function runWorkflow(ctx: Ctx, file?: string): Promise<string[]> {
  let name = file;
  if (!name) {
    const rows = await runJson<WorkflowRow[]>(ctx.cli, argv.workflowListArgs());
    const picked = need(
      await ctx.api.window.showQuickPick(
        rows.filter((r) => !r.shadowedBy).map((r) => ({
          label: r.name,
          description: r.source,
          detail: r.description,
        })),
        {
          title: "Run Workflow",
          placeHolder: "type to filter workflows",
          matchOnDetail: true,
        },
      ),
    );
    name = picked.label;
  }
  const info = await runJson<WorkflowInfo>(
    ctx.cli,
    argv.workflowShowArgs(name),
  );
  const params: Record<string, string> = {};
  for (const p of info.params) {
    const title = `${info.name}: ${p.name}${p.required ? "" : " (optional)"}`;
    let v: string;
    if (p.type === "enum" && p.values) {
      const items = p.values.map((x) => ({
        label: x,
        description: x === String(p.default) ? "default" : undefined,
      }));
      v = need(
        await ctx.api.window.showQuickPick(items, {
          title,
          placeHolder: p.description,
        }),
      ).label;
    } else if (p.type === "boolean") {
      const items = ["true", "false"].map((x) => ({
        label: x,
        description: x === String(p.default ?? false) ? "default" : undefined,
      }));
      v = need(
        await ctx.api.window.showQuickPick(items, {
          title,
          placeHolder: p.description,
        }),
      ).label;
    } else {
      v = need(
        await ctx.api.window.showInputBox({
          title,
          prompt: p.description,
          value: p.default === undefined ? "" : String(p.default),
          validateInput: (x) =>
            p.required && !x
              ? "required"
              : p.type === "number" && x && Number.isNaN(Number(x))
              ? "a number"
              : undefined,
        }),
      );
    }
    if (
      v !== "" &&
      v !== (p.default === undefined ? undefined : String(p.default))
    ) params[p.name] = v;
    else if (p.required && v !== "") params[p.name] = v;
  }
  let trustHash: string | undefined;
  if (info.trust.needed && !info.trust.trusted) {
    const answer = await ctx.api.window.showWarningMessage(
      `Workflow ${info.name} ${
        info.trust.changed ? "changed since you trusted it and " : ""
      }asks for permissions. Trust this version and run it?`,
      {
        modal: true,
        detail: [...info.trust.lines, `file: ${info.file}`].join("\n"),
      },
      "Trust and Run",
    );
    if (answer !== "Trust and Run") throw new Cancelled();
    trustHash = info.trust.sha256;
  }
  const args = argv.runArgs(ctx.conn, file ?? info.name, params, { trustHash });
  terminal(ctx, args);
  return args;
}

export interface SessionObj {
  metadata: { name: string; namespace: string };
  status: { phase: string; branch?: string; pod?: { name?: string } };
}

async function pickSession(
  ctx: Ctx,
  title: string,
  phases?: string[],
): Promise<SessionObj> {
  const list = await runJson<{ items: SessionObj[] }>(
    ctx.cli,
    argv.sessionListArgs(ctx.conn),
  );
  const shown = list.items.filter((s) => !phases || phases.includes(s.status.phase));
  if (!shown.length) {
    const msg = `no ${phases ? phases.join("/").toLowerCase() + " " : ""}sessions in ${
      ctx.conn.namespace ?? "the current namespace"
    }`;
    void ctx.api.window.showInformationMessage(msg);
    throw new Cancelled(msg);
  }
  const items = shown.map((s) => ({
    label: s.metadata.name,
    description: `${s.status.phase}${s.status.branch ? `  ${s.status.branch}` : ""}`,
    session: s,
  }));
  return need(
    await ctx.api.window.showQuickPick(items, {
      title,
      placeHolder: "type to filter sessions",
    }),
  ).session;
}

/** KODAMA_DOOR_ALLOW: the workspace's folders, where door git may fetch and land a session's repositories. */
export function doorAllow(folders: string[]): Record<string, string> {
  if (folders.length < 2) return {};
  const windows = folders.some((f) => /^[A-Za-z]:[\\/]/.test(f));
  return { KODAMA_DOOR_ALLOW: folders.join(windows ? ";" : ":") };
}

/** `Kodama: Start Session…`: the name (and an optional agent prompt), then `session start` in a terminal. */
export async function startSession(ctx: Ctx): Promise<string[]> {
  const dflt = (ctx.cwd ?? "").split(/[\\/]/).filter(Boolean).pop()?.toLowerCase().replace(
    /[^a-z0-9-]+/g,
    "-",
  ) ?? "";
  const name = need(
    await ctx.api.window.showInputBox({
      title: "Start Session",
      prompt: "session name (lowercase letters, digits, '-')",
      value: dflt.replace(/^-+|-+$/g, ""),
      validateInput: (
        v,
      ) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v) ? undefined : "lowercase letters, digits and '-'"),
    }),
  );
  const prompt = need(
    await ctx.api.window.showInputBox({
      title: `Start Session ${name}`,
      prompt: "a task for the coding agent once the session is ready (optional; Enter to skip)",
      value: "",
    }),
  ).trim();
  // a multi-root workspace: its folders can be the session's repositories, each in /workspace/NAME
  const folders = ctx.folders ?? [];
  let repos: string[] | undefined;
  if (folders.length > 1) {
    const all = `All ${folders.length} workspace folders, each a repository`;
    const pick = need(
      await ctx.api.window.showQuickPick([{ label: all }, { label: "No repository (as kodama start)" }], {
        title: `Start Session ${name}: repositories`,
        placeHolder: "each folder is cloned into /workspace/NAME on its own branch",
      }),
    );
    if (pick.label === all) repos = folders;
  }
  const args = argv.startArgs(ctx.conn, name, { prompt: prompt || undefined, repos });
  terminal(ctx, args);
  return args;
}

export type Verb = "attach" | "stop" | "resume" | "delete" | "fetch" | "land";

const VERB_PHASES: Record<Verb, string[] | undefined> = {
  attach: ["Running"],
  stop: ["Running", "Pending", "Starting", "Failed"],
  resume: ["Stopped", "Failed"],
  delete: undefined,
  fetch: undefined,
  land: ["Running"],
};

/**
 * `Kodama: Attach to / Stop / Resume / Delete Session…`, `Fetch Session Branch` and `Land Session on Current
 * Branch` (`kodama session land`, run in the workspace folder), in a terminal.
 */
export async function sessionVerb(
  ctx: Ctx,
  verb: Verb,
  preset?: { namespace: string; name: string },
): Promise<string[]> {
  const s = preset ??
    (await pickSession(
      ctx,
      `${verb[0].toUpperCase()}${verb.slice(1)} Session`,
      VERB_PHASES[verb],
    )).metadata;
  const args = argv.sessionArgs(ctx.conn, verb, s.name, s.namespace);
  // fetch and land write into the workspace's repository: door git there (docs/security.md), so nothing its
  // config or hooks name runs
  const writes = verb === "fetch" || verb === "land";
  // a session with several repositories: door git may write in each folder of the workspace (and nowhere else)
  const env = { KODAMA_DOOR_GIT: "1", ...doorAllow(ctx.folders ?? []) };
  terminal(ctx, args, { hold: verb !== "attach", ...(writes ? { env } : {}) });
  return args;
}

/** The context and namespace the status bar shows (the kubeconfig's current ones until the user picks). */
export async function shownConnection(ctx: Ctx): Promise<{ context?: string; namespace: string }> {
  const contexts = argv.parseCompletion(
    await runCli(ctx.cli, argv.completeArgs({ kubeconfig: ctx.conn.kubeconfig }, "context"), {
      env: argv.COMPLETE_ENV,
    }),
  );
  return argv.shownConnection(contexts, ctx.conn);
}

/** The status bar's menu: switch context or namespace (the extension's own choice; kubeconfig is not written). */
export async function switchConnection(ctx: Ctx): Promise<Conn> {
  const what = need(
    await ctx.api.window.showQuickPick(
      [
        {
          label: "Switch namespace…",
          description: ctx.conn.namespace ?? "(the context's)",
        },
        {
          label: "Switch context…",
          description: ctx.conn.context ?? "(kubeconfig's current)",
        },
      ],
      { title: "kodama: context and namespace" },
    ),
  );
  if (what.label.startsWith("Switch namespace")) {
    return {
      ...ctx.conn,
      namespace: await pickNamespace(ctx, "Switch namespace"),
    };
  }
  const contexts = argv.parseCompletion(
    await runCli(ctx.cli, argv.completeArgs(ctx.conn, "context"), {
      env: argv.COMPLETE_ENV,
    }),
  );
  const picked = need(
    await ctx.api.window.showQuickPick(
      contexts.map((c) => ({ label: c.value, description: c.description })),
      { title: "Switch context", placeHolder: "type to filter contexts" },
    ),
  );
  // a new context: its own namespace (from the kubeconfig) until one is picked
  return { ...ctx.conn, context: picked.label, namespace: undefined };
}
