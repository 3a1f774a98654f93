/**
 * tmux fan-out: one pane per pod, each running an interactive `kodama exec -it` in that pod
 * (kubectl-tmux-exec / xpanes style). `planTmux` is pure (pods + options -> tmux commands) and
 * unit-tested; `tmuxFanout` runs the plan.
 *
 * Inside tmux ($TMUX set) the panes open in new window(s) of the current session; outside, a new
 * session is created and attached (or, without a TTY, left detached and its name printed).
 * Exit codes: tmux not installed -> 2 (usage: the --tmux flag cannot be honoured here).
 */
import { delimiter, resolve } from "node:path";
import { ExitCode, KodamaError } from "../base/errors.ts";
import { spawnTool } from "../base/proc/proc.ts";
import { shellJoin } from "../base/text/escape.ts";
import { quote } from "../base/text/escape.ts";

export const LAYOUTS = [
  "tiled",
  "even-horizontal",
  "even-vertical",
  "main-horizontal",
  "main-vertical",
] as const;
export type Layout = typeof LAYOUTS[number];

/** Default remote command: the best shell the container has. */
export const DEFAULT_SHELL = ["sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh"];

export interface TmuxPod {
  namespace: string;
  name: string;
}

export interface TmuxPlanInput {
  pods: TmuxPod[];
  /** remote command (empty = DEFAULT_SHELL) */
  command: string[];
  container?: string;
  layout?: string;
  syncPanes?: boolean;
  /** argv that re-invokes kodama (selfCommand()) */
  self: string[];
  /** global flags to pass to every pane's kodama (--kubeconfig, --context, …) */
  globalFlags: string[];
  /** environment to set in each pane (KUBECONFIG, KODAMA_HOME, NO_COLOR) */
  env?: Record<string, string>;
  insideTmux: boolean;
  sessionName: string;
  /** panes per window; more pods -> more windows */
  panesPerWindow: number;
}

/**
 * One tmux invocation. `{window}` / `{pane}` in args are replaced by the id printed by the most
 * recent step with `capture: "window"` / `"pane"` (tmux -P -F output).
 */
export interface TmuxStep {
  args: string[];
  capture?: "window" | "pane";
}

export interface TmuxPlan {
  steps: TmuxStep[];
  windows: number;
  /** the session created (outside tmux) */
  session?: string;
}

/** The shell line a pane runs: kodama exec in the pod; the pane stays open if kodama failed. */
export function paneCommand(pod: TmuxPod, i: TmuxPlanInput): string {
  const remote = i.command.length ? i.command : DEFAULT_SHELL;
  const argv = [
    ...i.self,
    ...i.globalFlags,
    "exec",
    "--pod",
    pod.name,
    "-n",
    pod.namespace,
    "-it",
    ...(i.container ? ["-c", i.container] : []),
    "--",
    ...remote,
  ];
  // keep the pane open when kodama could not reach the pod, so the error can be read
  return `${shellJoin(argv)}; rc=$?; if [ $rc -ne 0 ] && [ $rc -ne 130 ]; then ` +
    `printf '\\n[kodama exec exited %s — press Enter to close]' "$rc"; read _; fi`;
}

export function panesThatFit(cols: number, rows: number, minCols = 20, minRows = 5, cap = 16): number {
  const across = Math.max(1, Math.floor((cols + 1) / (minCols + 1)));
  const down = Math.max(1, Math.floor((rows + 1) / (minRows + 1)));
  return Math.max(1, Math.min(cap, across * down));
}

export function validateLayout(layout: string | undefined): Layout {
  const l = layout ?? "tiled";
  if (!(LAYOUTS as readonly string[]).includes(l)) {
    throw new KodamaError(
      `unknown tmux layout ${quote(l)}`,
      ExitCode.USAGE,
      `use one of: ${LAYOUTS.join(", ")}`,
    );
  }
  return l as Layout;
}

export function planTmux(i: TmuxPlanInput): TmuxPlan {
  const layout = validateLayout(i.layout);
  if (i.pods.length === 0) throw new KodamaError("no pods for tmux fan-out", ExitCode.NOT_FOUND);
  const per = Math.max(1, i.panesPerWindow);
  const envArgs = Object.entries(i.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const steps: TmuxStep[] = [];
  const groups: TmuxPod[][] = [];
  for (let k = 0; k < i.pods.length; k += per) groups.push(i.pods.slice(k, k + per));
  groups.forEach((group, w) => {
    const winName = groups.length > 1 ? `kodama-${w + 1}` : "kodama";
    const first = group[0];
    if (w === 0 && !i.insideTmux) {
      steps.push({
        args: [
          "new-session",
          "-d",
          "-P",
          "-F",
          "#{window_id}",
          "-s",
          i.sessionName,
          "-n",
          winName,
          "-x",
          "200",
          "-y",
          "50",
          ...envArgs,
          paneCommand(first, i),
        ],
        capture: "window",
      });
    } else {
      const target = i.insideTmux ? [] : ["-t", `${i.sessionName}:`];
      // inside tmux the first window is selected (the user lands on it); later ones open in the background
      const detach = i.insideTmux && w === 0 ? [] : ["-d"];
      steps.push({
        args: [
          "new-window",
          ...detach,
          "-P",
          "-F",
          "#{window_id}",
          ...target,
          "-n",
          winName,
          ...envArgs,
          paneCommand(first, i),
        ],
        capture: "window",
      });
    }
    steps.push({ args: ["select-pane", "-t", "{window}", "-T", first.name] });
    steps.push({
      args: ["set-option", "-p", "-t", "{window}", "@kodama_pod", `${first.namespace}/${first.name}`],
    });
    for (const pod of group.slice(1)) {
      steps.push({
        args: [
          "split-window",
          "-d",
          "-P",
          "-F",
          "#{pane_id}",
          "-t",
          "{window}",
          ...envArgs,
          paneCommand(pod, i),
        ],
        capture: "pane",
      });
      steps.push({ args: ["select-pane", "-t", "{pane}", "-T", pod.name] });
      steps.push({
        args: ["set-option", "-p", "-t", "{pane}", "@kodama_pod", `${pod.namespace}/${pod.name}`],
      });
      // re-tile after every split so the next split has room
      steps.push({ args: ["select-layout", "-t", "{window}", "tiled"] });
    }
    steps.push({ args: ["select-layout", "-t", "{window}", layout] });
    steps.push({ args: ["set-option", "-w", "-t", "{window}", "pane-border-status", "top"] });
    steps.push({
      args: ["set-option", "-w", "-t", "{window}", "pane-border-format", " #{pane_index}: #{pane_title} "],
    });
    // a shell in the pod may set its own title; keep the pod name
    steps.push({ args: ["set-option", "-w", "-t", "{window}", "allow-rename", "off"] });
    if (i.syncPanes) steps.push({ args: ["set-option", "-w", "-t", "{window}", "synchronize-panes", "on"] });
  });
  return { steps, windows: groups.length, session: i.insideTmux ? undefined : i.sessionName };
}

/** tmux argv prefix: `tmux`, or `tmux -L SOCKET` when KODAMA_TMUX_SOCKET is set (tests, isolation). */
export function tmuxBase(env: { get(k: string): string | undefined } = Deno.env): string[] {
  const sock = env.get("KODAMA_TMUX_SOCKET");
  return sock ? ["tmux", "-L", sock] : ["tmux"];
}

async function runTmux(base: string[], args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await spawnTool(
    base[0],
    [...base.slice(1), ...args],
    "--tmux needs it: install tmux (apt install tmux / brew install tmux), or use --all for prefixed parallel output",
    { stdout: "piped", stderr: "piped", stdin: "null" },
  ).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout), err: new TextDecoder().decode(r.stderr) };
}

/**
 * The environment every pane's kodama needs to reach the same cluster: panes are started by the tmux
 * server, whose environment and cwd may be another shell's. KUBECONFIG entries are made absolute (empty
 * entries dropped, as the kubeconfig loader drops them); KODAMA_HOME, NO_COLOR and the proxy variables
 * pass through — except a proxy URL with a password, which would show on tmux's command line (such panes
 * get the tmux server's own environment; a tmux server started by kodama has it anyway).
 */
export function paneEnv(
  get: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["KUBECONFIG", "KODAMA_HOME", "KODAMA_CONFIG_DIR", "NO_COLOR", ...PROXY_ENV]) {
    const v = get(name);
    if (!v) continue;
    // tmux puts -e values on its command line, readable in /proc by anyone: never a proxy password
    if (PROXY_ENV.includes(name) && hasCredentials(v)) continue;
    env[name] = name === "KUBECONFIG"
      ? v.split(delimiter).filter(Boolean).map((p) => resolve(p)).join(delimiter)
      : v;
  }
  return env;
}

/** The proxy settings kodama honours (src/kube/proxy.ts), so panes reach the cluster the same way. */
const PROXY_ENV = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];

function hasCredentials(v: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(v.trim()) || /^[^/@]*@/.test(v.trim());
}

export interface TmuxFanoutOptions {
  command: string[];
  layout?: string;
  syncPanes?: boolean;
  container?: string;
  /** how to re-invoke kodama (default selfCommand()) */
  kodamaArgv: string[];
  globalFlags: string[];
  env?: Record<string, string>;
  /** panes per window (default: what fits the terminal, at most 16) */
  panesPerWindow?: number;
  /** attach to the new session when outside tmux (default: stdin and stdout are TTYs) */
  attach?: boolean;
  /** where the session name goes when not attaching */
  print?: (line: string) => void;
  /** the tmux program by absolute path (a workflow resolves it before any step runs) */
  tmux?: string;
}

/** Run the plan; returns the exit code (0, or tmux attach's code). */
export async function tmuxFanout(
  pods: { metadata?: { name?: string; namespace?: string } }[],
  o: TmuxFanoutOptions,
): Promise<number> {
  const found = tmuxBase();
  const base = o.tmux ? [o.tmux, ...found.slice(1)] : found;
  const insideTmux = !!Deno.env.get("TMUX");
  await runTmux(base, ["-V"]);
  let per = o.panesPerWindow;
  if (!per) {
    let size = { columns: 200, rows: 50 };
    try {
      size = Deno.consoleSize();
    } catch { /* not a TTY */ }
    per = panesThatFit(size.columns, size.rows);
  }
  const tp = pods.map((p) => ({
    namespace: p.metadata?.namespace ?? "default",
    name: p.metadata?.name ?? "",
  }));
  const sessionName = `kodama-${tp[0]?.namespace ?? "pods"}-${Math.random().toString(36).slice(2, 6)}`;
  const plan = planTmux({
    pods: tp,
    command: o.command,
    container: o.container,
    layout: o.layout,
    syncPanes: o.syncPanes,
    self: o.kodamaArgv,
    globalFlags: o.globalFlags,
    env: o.env,
    insideTmux,
    sessionName,
    panesPerWindow: per,
  });
  let window = "";
  let pane = "";
  for (const step of plan.steps) {
    const args = step.args.map((a) => a.replaceAll("{window}", window).replaceAll("{pane}", pane));
    const r = await runTmux(base, args);
    if (r.code !== 0) {
      throw new KodamaError(`tmux ${args[0]} failed: ${r.err.trim() || `exit ${r.code}`}`, ExitCode.FAILED);
    }
    if (step.capture === "window") window = r.out.trim();
    if (step.capture === "pane") pane = r.out.trim();
  }
  if (insideTmux) return 0;
  const attach = o.attach ?? (Deno.stdin.isTerminal() && Deno.stdout.isTerminal());
  if (!attach) {
    // stdout keeps the bare name (scripts read it); a person is told how to get there
    (o.print ?? console.log)(plan.session!);
    const how = ["tmux", ...base.slice(1).filter((a) => a !== base[0]), "attach", "-t", plan.session!];
    console.error(`tmux session ${plan.session} is ready (no terminal to attach here): ${how.join(" ")}`);
    return 0;
  }
  const child = new Deno.Command(base[0], {
    args: [...base.slice(1), "attach-session", "-t", plan.session!],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).code;
}
