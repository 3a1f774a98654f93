/**
 * Every `kodama` command line the extension runs, as an argv array: values from documents, the
 * cluster or the user are whole array elements (and `--flag=value` when they follow a flag), so
 * nothing is ever read by a shell on this machine. Pure; unit-tested under `deno test`
 * (tests/unit/vscode/argv_test.ts).
 */

/** Where commands go: the status bar's choice (undefined = the kubeconfig's current one). */
export interface Conn {
  context?: string;
  namespace?: string;
  kubeconfig?: string;
}

/** How pods are chosen: one pod by name, or a selector / match in a namespace. */
export interface PodTarget {
  namespace?: string;
  pod?: string;
  selector?: string;
  match?: string;
  allNamespaces?: boolean;
  container?: string;
}

/** `--kubeconfig/--context` (the namespace goes with each command's target). */
export function connArgs(c: Conn): string[] {
  const out: string[] = [];
  if (c.kubeconfig) out.push(`--kubeconfig=${c.kubeconfig}`);
  if (c.context) out.push(`--context=${c.context}`);
  return out;
}

function nsArgs(c: Conn, ns?: string, all?: boolean): string[] {
  if (all) return ["--all-namespaces"];
  const n = ns ?? c.namespace;
  return n ? [`--namespace=${n}`] : [];
}

function targetArgs(c: Conn, t: PodTarget): string[] {
  const out = nsArgs(c, t.namespace, t.allNamespaces && !t.pod);
  if (t.pod) out.push(`--pod=${t.pod}`);
  else {
    if (t.selector) out.push(`--selector=${t.selector}`);
    if (t.match) out.push(`--match=${t.match}`);
  }
  if (t.container) out.push(`--container=${t.container}`);
  return out;
}

/** `kodama pods -o json` for a QuickPick of pods. */
export function podsArgs(
  c: Conn,
  t: Omit<PodTarget, "pod" | "container">,
): string[] {
  const out = [
    "pods",
    ...connArgs(c),
    ...nsArgs(c, t.namespace, t.allNamespaces),
  ];
  if (t.selector) out.push(`--selector=${t.selector}`);
  if (t.match) out.push(`--match=${t.match}`);
  out.push("--output=json");
  return out;
}

/** `kodama exec` in one pod, on a TTY (the terminal). */
export function execArgs(c: Conn, t: PodTarget, command: string[]): string[] {
  return [
    "exec",
    ...connArgs(c),
    ...targetArgs(c, t),
    "--stdin",
    "--tty",
    "--",
    ...command,
  ];
}

/** `kodama exec --all`: the fan-out, prefixed lines and a summary. */
export function execAllArgs(
  c: Conn,
  t: PodTarget,
  command: string[],
): string[] {
  return [
    "exec",
    ...connArgs(c),
    ...targetArgs(c, t),
    "--all",
    "--",
    ...command,
  ];
}

/** `kodama logs -f` for a pod or every pod of a selector. */
export function logsArgs(
  c: Conn,
  t: PodTarget,
  o: { follow?: boolean; tail?: number } = {},
): string[] {
  const out = ["logs", ...connArgs(c), ...targetArgs(c, t)];
  if (o.follow ?? true) out.push("--follow");
  if (o.tail !== undefined) out.push(`--tail=${o.tail}`);
  return out;
}

/** `kodama port-forward TARGET PORTS --detach`: prints an id and the Forwarding lines. */
export function portForwardArgs(
  c: Conn,
  t: PodTarget,
  ports: string[],
  detach = false,
): string[] {
  const out = ["port-forward", ...connArgs(c), ...targetArgs(c, t)];
  if (detach) out.push("--detach");
  // ports are checked by PORTS_RE before they get here (none starts with '-')
  return [...out, ...ports];
}

/** One port mapping as `kodama port-forward` takes it: REMOTE, LOCAL:REMOTE, :REMOTE (REMOTE may be a name). */
export const PORT_RE = /^(\d{1,5})?(:)?([1-9]\d{0,4}|[a-z][-a-z0-9]{0,14})$/;

export function portForwardListArgs(): string[] {
  return ["port-forward", "list", "--output=json"];
}

export function portForwardStopArgs(ids: string[]): string[] {
  return ["port-forward", "stop", "--", ...ids];
}

/** `kodama run NAME --param k=v …` (`--trust-hash` only after the person said so in the modal dialog: that version, no other). */
export function runArgs(
  c: Conn,
  workflow: string,
  params: Record<string, string>,
  o: { trustHash?: string; dryRun?: boolean } = {},
): string[] {
  const out = ["run", ...connArgs(c), ...nsArgs(c)];
  for (const [k, v] of Object.entries(params)) out.push(`--param=${k}=${v}`);
  if (o.trustHash) out.push(`--trust-hash=${o.trustHash}`);
  if (o.dryRun) out.push("--dry-run");
  // `--` so a workflow named like a flag, or a file path starting with '-', stays the name
  return [...out, "--", workflow];
}

export function workflowListArgs(): string[] {
  return ["workflow", "list", "--output=json"];
}

export function workflowShowArgs(workflow: string): string[] {
  return ["workflow", "show", "--output=json", "--", workflow];
}

export function sessionListArgs(c: Conn, watch = false): string[] {
  return [
    "list",
    ...connArgs(c),
    ...nsArgs(c),
    "--output=json",
    ...(watch ? ["--watch"] : []),
  ];
}

export type SessionVerb =
  | "attach"
  | "stop"
  | "resume"
  | "delete"
  | "fetch"
  | "land"
  | "get";

/** `kodama session VERB NAME` (`start` takes its own flags: startArgs). */
export function sessionArgs(
  c: Conn,
  verb: SessionVerb,
  name: string,
  namespace?: string,
): string[] {
  return ["session", verb, ...connArgs(c), ...nsArgs(c, namespace), "--", name];
}

export function startArgs(
  c: Conn,
  name: string,
  o: { repo?: string; repos?: string[]; image?: string; namespace?: string; prompt?: string } = {},
): string[] {
  const out = ["session", "start", ...connArgs(c), ...nsArgs(c, o.namespace)];
  if (o.prompt) out.push(`--prompt=${o.prompt}`);
  if (o.repo) out.push(`--repo=${o.repo}`);
  // several repositories: each workspace folder, one --repo each (each into /workspace/NAME)
  for (const r of o.repos ?? []) out.push(`--repo=${r}`);
  if (o.image) out.push(`--image=${o.image}`);
  return [...out, "--", name];
}

/** Namespaces and contexts, as the CLI's shell completion lists them. */
export function completeArgs(c: Conn, what: "namespace" | "context"): string[] {
  return [
    "__complete",
    ...connArgs(c),
    "pods",
    what === "namespace" ? "--namespace" : "--context",
    "",
  ];
}

/**
 * The environment for `__complete`: shell completion gives up after 1 s (a prompt must not hang);
 * a QuickPick that shows a busy bar may wait for a slow server.
 */
export const COMPLETE_ENV = { KODAMA_COMPLETION_TIMEOUT_MS: "20000" };

/** Lines of `kodama __complete`: `value\tdescription`, closed by `:N`. */
export function parseCompletion(
  out: string,
): { value: string; description?: string }[] {
  const items: { value: string; description?: string }[] = [];
  for (const line of out.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const tab = line.indexOf("\t");
    items.push(
      tab < 0 ? { value: line } : { value: line.slice(0, tab), description: line.slice(tab + 1) },
    );
  }
  return items;
}

/**
 * What the status bar shows: the chosen context, else the kubeconfig's current one (its completion line says
 * "current"); the chosen namespace, else that context's, else "default".
 */
export function shownConnection(
  contexts: { value: string; description?: string }[],
  c: Conn,
): { context?: string; namespace: string } {
  const ctx = c.context
    ? contexts.find((x) => x.value === c.context)
    : contexts.find((x) => /^current\b/.test(x.description ?? ""));
  const ns = /\bnamespace ([^,\s]+)/.exec(ctx?.description ?? "")?.[1];
  return { context: c.context ?? ctx?.value, namespace: c.namespace ?? ns ?? "default" };
}

const SHELL_SPECIAL = /[|&;<>()$`\\"'*?[\]#~=%{}!\n]/;

/**
 * A command line typed into the "command" box, as the argv to run in the pod: plain words are
 * split on blanks and run directly (no shell needed in the image); a line with shell syntax (pipes,
 * quotes, `$`, globs, redirections) runs as `sh -c LINE` in the pod — the pod's shell, never this
 * machine's. An empty line is the pod's shell.
 */
export function podCommand(line: string): string[] {
  const t = line.trim();
  if (!t) return ["sh"];
  if (SHELL_SPECIAL.test(t)) return ["sh", "-c", t];
  return t.split(/\s+/);
}

/** The terminal's title: the command without connection flags, shortened. */
export function terminalName(args: string[]): string {
  const shown = args.filter((a) => !a.startsWith("--kubeconfig=") && !a.startsWith("--context="));
  const s = `kodama ${shown.join(" ")}`;
  return s.length > 60 ? s.slice(0, 59) + "…" : s;
}
