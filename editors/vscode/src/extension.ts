/**
 * The VS Code side: registers the commands, the status bar item, the CodeLens and the tree view, and
 * hands the real `vscode` API to the handlers (handlers.ts), which run the kodama CLI. Nothing here
 * talks to Kubernetes.
 */
import * as vscode from "vscode";
import type { Api, Terminal, TerminalOptions } from "./api.ts";
import type * as argv from "./argv.ts";
import type { CliConfig } from "./cli.ts";
import * as h from "./handlers.ts";
import { isWorkflowFile, workflowNameLines } from "./lens.ts";
import { phaseIcon, SessionModel, type SessionRow, type SessionWatch, watchSessions } from "./tree.ts";
import { type ListedSession, runEndMessage, RunEndTracker } from "./runends.ts";
import { runJson } from "./cli.ts";
import { sessionListArgs } from "./argv.ts";

const CONN_KEY = "kodama.connection";

export function activate(context: vscode.ExtensionContext): void {
  // VS Code's window, but a terminal that must keep its output runs as a task (see TerminalOptions.hold)
  const api = {
    window: Object.assign(Object.create(vscode.window), { createTerminal: openTerminal }),
  } as Api;
  let conn: argv.Conn = context.workspaceState.get<argv.Conn>(CONN_KEY) ?? {};
  const folder = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;

  const cli = (): CliConfig => {
    const cfg = vscode.workspace.getConfiguration("kodama");
    const path = cfg.get<string>("path") || "kodama";
    const kubeconfig = cfg.get<string>("kubeconfig") || undefined;
    return {
      command: path,
      cwd: folder(),
      ...(kubeconfig ? { env: { KUBECONFIG: kubeconfig } } : {}),
    };
  };
  const ctx = (): h.Ctx => {
    const ed = vscode.window.activeTextEditor;
    return {
      api,
      cli: cli(),
      conn,
      state: context.globalState,
      cwd: folder(),
      folders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      editor: ed
        ? {
          text: ed.document.getText(),
          offset: ed.document.offsetAt(ed.selection.active),
          fileName: ed.document.fileName,
        }
        : undefined,
    };
  };

  // errors: one line from kodama's own message; Escape is not an error
  const guard = <A extends unknown[]>(fn: (...a: A) => Promise<unknown>) => async (...a: A) => {
    try {
      await fn(...a);
    } catch (e) {
      if (e instanceof h.Cancelled) return;
      void vscode.window.showErrorMessage(`kodama: ${(e as Error).message}`);
    }
  };
  const presetOf = (
    node?: { pod?: { namespace: string; name: string }; session?: SessionRow },
  ) =>
    node?.pod ??
      (node?.session ? { namespace: node.session.namespace, name: node.session.name } : undefined);

  // the status bar: context / namespace; a click switches them
  const status = vscode.window.createStatusBarItem(
    vscode.StatusBarAlignment.Left,
    50,
  );
  status.command = "kodama.switchConnection";
  // a failed look-up (a slow first start of kodama, an unreadable kubeconfig) is tried again, slower each time
  let statusRetry: ReturnType<typeof setTimeout> | undefined;
  let statusFailures = 0;
  const showStatus = async () => {
    clearTimeout(statusRetry);
    status.text = `$(cloud) ${conn.context ?? "kube"}${conn.namespace ? ` / ${conn.namespace}` : ""}`;
    status.tooltip = "kodama: the context and namespace of its commands — click to switch";
    status.show();
    try {
      const shown = await h.shownConnection(ctx());
      status.text = `$(cloud) ${shown.context ?? "no context"} / ${shown.namespace}`;
      status.tooltip =
        `kodama: context ${shown.context ?? "(none)"}${conn.context ? "" : " (the kubeconfig's current)"}, ` +
        `namespace ${shown.namespace}${conn.namespace ? "" : " (the context's)"} — click to switch`;
      statusFailures = 0;
    } catch (e) {
      status.tooltip = `kodama: ${(e as Error).message}`;
      statusRetry = setTimeout(() => void showStatus(), Math.min(5_000 * 2 ** statusFailures++, 300_000));
    }
  };
  void showStatus();

  // the tree: sessions from `kodama list -o json -w`, and recent pods
  const sessions = new SessionModel();
  const changed = new vscode.EventEmitter<void>();
  let watch: SessionWatch | undefined;
  let watchError: string | undefined;
  const startWatch = () => {
    watch?.stop();
    sessions.reset([]);
    watchError = undefined;
    changed.fire();
    const w = watchSessions(cli(), conn, sessions, () => changed.fire());
    watch = w;
    void w.ended.then((end) => {
      if (!end || watch !== w) return;
      watch = undefined;
      watchError = end.error;
      changed.fire();
      // the watch ended (a dropped connection, a broken kubeconfig): start again after a pause
      setTimeout(() => !watch && startWatch(), end.code ? 30_000 : 2_000);
    });
  };
  // a run that ends in a session shown here is told (runends.ts): `kodama list -o json` every 30 s while a
  // session runs (it reads an unread run's outcome, bounded), one notification per ended run
  const runEnds = new RunEndTracker();
  let lookTimer: ReturnType<typeof setTimeout> | undefined;
  const lookForRunEnds = async () => {
    clearTimeout(lookTimer);
    if (sessions.rows().some((r) => r.phase === "Running")) {
      try {
        const list = await runJson<{ items: ListedSession[] }>(cli(), sessionListArgs(conn));
        for (const e of runEnds.look(list.items ?? [])) {
          const msg = runEndMessage(e);
          void (e.failed ? vscode.window.showWarningMessage(msg) : vscode.window.showInformationMessage(msg));
        }
      } catch {
        // kodama could not list (a dropped connection): the tree says so; look again later
      }
    }
    lookTimer = setTimeout(() => void lookForRunEnds(), runEnds.anyRunning() ? 15_000 : 30_000);
  };
  lookTimer = setTimeout(() => void lookForRunEnds(), 5_000);
  type Node = {
    kind: "group" | "session" | "pod" | "error";
    label: string;
    session?: SessionRow;
    pod?: { namespace: string; name: string };
  };
  const provider: vscode.TreeDataProvider<Node> = {
    onDidChangeTreeData: changed.event,
    getChildren: (node?: Node): Node[] => {
      if (!node) {
        return [{ kind: "group", label: "Sessions" }, {
          kind: "group",
          label: "Recent Pods",
        }];
      }
      if (node.label === "Sessions") {
        const rows = sessions.rows().map((s): Node => ({
          kind: "session",
          label: s.name,
          session: s,
        }));
        return watchError ? [{ kind: "error", label: watchError }, ...rows] : rows;
      }
      if (node.label === "Recent Pods") {
        return h.recentPods(context.globalState).map((p): Node => ({
          kind: "pod",
          label: p.name,
          pod: p,
        }));
      }
      return [];
    },
    getTreeItem: (node: Node): vscode.TreeItem => {
      const item = new vscode.TreeItem(
        node.label,
        node.kind === "group"
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.None,
      );
      if (node.session) {
        item.description = `${node.session.phase}  ${node.session.namespace}${
          node.session.branch ? `  ${node.session.branch}` : ""
        }`;
        item.iconPath = new vscode.ThemeIcon(phaseIcon(node.session.phase));
        item.contextValue = `session.${node.session.phase.toLowerCase()}`;
      } else if (node.pod) {
        item.description = node.pod.namespace;
        item.iconPath = new vscode.ThemeIcon("server-process");
        item.contextValue = "pod";
      } else if (node.kind === "error") {
        item.iconPath = new vscode.ThemeIcon("warning");
      }
      return item;
    },
  };

  const reg = (id: string, fn: (...a: never[]) => Promise<unknown>) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, guard(fn)));
  reg(
    "kodama.execInPod",
    (node?: Node) => h.execInPod(ctx(), presetOf(node)).finally(() => changed.fire()),
  );
  reg("kodama.execInAll", () => h.execInAll(ctx()));
  reg(
    "kodama.logs",
    (node?: Node) => h.logs(ctx(), presetOf(node)).finally(() => changed.fire()),
  );
  reg("kodama.portForward", () => h.portForward(ctx()));
  reg("kodama.stopPortForward", () => h.stopPortForward(ctx()));
  reg(
    "kodama.runWorkflow",
    (file?: string) => h.runWorkflow(ctx(), typeof file === "string" ? file : undefined),
  );
  reg("kodama.startSession", () => h.startSession(ctx()));
  for (const verb of ["attach", "stop", "resume", "delete", "fetch", "land"] as const) {
    reg(
      `kodama.${verb}Session`,
      (node?: Node) => h.sessionVerb(ctx(), verb, presetOf(node)),
    );
  }
  reg("kodama.refresh", () => Promise.resolve(startWatch()));
  reg("kodama.switchConnection", async () => {
    conn = await h.switchConnection(ctx());
    await context.workspaceState.update(CONN_KEY, conn);
    void showStatus();
    startWatch();
  });

  context.subscriptions.push(
    status,
    changed,
    vscode.window.registerTreeDataProvider("kodama.view", provider),
    vscode.languages.registerCodeLensProvider({ language: "yaml" }, {
      provideCodeLenses: (doc: vscode.TextDocument) =>
        isWorkflowFile(doc.fileName)
          ? workflowNameLines(doc.getText()).map(({ line }) =>
            new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
              title: "$(play) Run workflow",
              command: "kodama.runWorkflow",
              arguments: [doc.fileName],
            })
          )
          : [],
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration("kodama")) return;
      void showStatus();
      startWatch();
    }),
    { dispose: () => (watch?.stop(), clearTimeout(statusRetry), clearTimeout(lookTimer)) },
  );
  startWatch();
}

let runs = 0;

/**
 * `kodama ...` in a terminal. With `hold`, as a task (ProcessExecution: the program and its argv, no shell),
 * whose terminal keeps the output and the exit status until a key is pressed; an extension's own terminal
 * closes the moment its process exits. Each run is its own task (a unique definition), so two runs of the
 * same command never meet VS Code's "task is already active".
 */
function openTerminal(o: TerminalOptions): Terminal {
  if (!o.hold) return vscode.window.createTerminal(o);
  const task = new vscode.Task(
    { type: "kodama", run: `${Date.now()}.${++runs}` },
    vscode.workspace.workspaceFolders?.[0] ?? vscode.TaskScope.Workspace,
    o.name,
    "kodama",
    new vscode.ProcessExecution(o.shellPath, o.shellArgs, {
      ...(o.cwd ? { cwd: o.cwd } : {}),
      ...(o.env ? { env: o.env } : {}),
    }),
  );
  task.presentationOptions = {
    reveal: vscode.TaskRevealKind.Always,
    focus: true,
    panel: vscode.TaskPanelKind.New,
    echo: true,
    clear: false,
    showReuseMessage: true,
  };
  // no task system (an editor without one): a plain terminal, which closes when the command ends
  vscode.tasks.executeTask(task).then(undefined, () => vscode.window.createTerminal(o).show());
  return { show() {} };
}

export function deactivate(): void {}
