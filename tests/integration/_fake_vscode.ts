/**
 * A tiny fake of the VS Code API (editors/vscode/src/api.ts) for the extension's handlers: it records
 * what each QuickPick, input box and dialog shows, answers from a script, and records the terminals
 * opened (program + argv). The handlers run unchanged against it and the real kodama CLI.
 */
import type {
  Api,
  InputBoxOptions,
  Memento,
  QuickPick,
  QuickPickItem,
  QuickPickOptions,
  TerminalOptions,
} from "../../editors/vscode/src/api.ts";

export interface Shown {
  kind: "quickPick" | "typePick" | "input" | "modal" | "error" | "info";
  title?: string;
  items?: QuickPickItem[];
  value?: string;
  message?: string;
  detail?: string;
  buttons?: string[];
}

/** An answer: the label to pick (several with canPickMany), the text to type, or undefined (Escape). */
export type Answer =
  | string
  | string[]
  | undefined
  | ((s: Shown) => string | string[] | undefined);

export interface Fake {
  api: Api;
  state: Memento;
  shown: Shown[];
  terminals: TerminalOptions[];
  /** the answers for the next prompts, in order */
  answer(...a: Answer[]): void;
}

export function fakeVscode(): Fake {
  const shown: Shown[] = [];
  const terminals: TerminalOptions[] = [];
  const queue: Answer[] = [];
  const store = new Map<string, unknown>();
  const next = (s: Shown) => {
    shown.push(s);
    if (!queue.length) {
      throw new Error(
        `no answer scripted for ${s.kind} "${s.title ?? s.message}"`,
      );
    }
    const a = queue.shift();
    return typeof a === "function" ? a(s) : a;
  };
  const find = (items: QuickPickItem[], label: string, title?: string) => {
    const it = items.find((i) => i.label === label);
    if (!it) {
      throw new Error(
        `"${label}" is not among ${title}: ${items.map((i) => i.label).join(", ")}`,
      );
    }
    return it;
  };
  const window = {
    async showQuickPick(
      items: readonly QuickPickItem[] | Promise<readonly QuickPickItem[]>,
      o?: QuickPickOptions,
    ) {
      const list = [...(await items)];
      const a = next({ kind: "quickPick", title: o?.title, items: list });
      if (a === undefined) return undefined;
      if (o?.canPickMany) {
        return (Array.isArray(a) ? a : [a]).map((l) => find(list, l, o?.title));
      }
      return find(list, a as string, o?.title);
    },
    createQuickPick<T extends QuickPickItem>(): QuickPick<T> {
      const on = {
        accept: [] as (() => void)[],
        hide: [] as (() => void)[],
        change: [] as ((v: string) => void)[],
      };
      const sub = <F>(
        list: F[],
        f: F,
      ) => (list.push(f), { dispose: () => list.splice(list.indexOf(f), 1) });
      const qp = {
        title: undefined as string | undefined,
        placeholder: undefined as string | undefined,
        value: "",
        items: [] as readonly T[],
        selectedItems: [] as readonly T[],
        onDidAccept: (f: () => void) => sub(on.accept, f),
        onDidHide: (f: () => void) => sub(on.hide, f),
        onDidChangeValue: (f: (v: string) => void) => sub(on.change, f),
        show() {
          queueMicrotask(() => {
            const a = next({
              kind: "typePick",
              title: qp.title,
              items: [...qp.items],
            });
            if (a === undefined) return [...on.hide].forEach((f) => f());
            // typing: the value changes, then the matching (or first shown) item is the selection
            qp.value = a as string;
            [...on.change].forEach((f) => f(qp.value));
            const hit = qp.items.find((i) => i.label === qp.value);
            qp.selectedItems = hit ? [hit] : [];
            [...on.accept].forEach((f) => f());
          });
        },
        hide() {
          [...on.hide].forEach((f) => f());
        },
        dispose() {},
      };
      return qp;
    },
    showInputBox(o?: InputBoxOptions) {
      const a = next({
        kind: "input",
        title: o?.title,
        value: o?.value,
        message: o?.prompt,
      }) as string | undefined;
      if (a !== undefined) {
        const bad = o?.validateInput?.(a);
        if (bad) throw new Error(`input "${a}" refused by ${o?.title}: ${bad}`);
      }
      return Promise.resolve(a);
    },
    showWarningMessage(
      message: string,
      o: { modal?: boolean; detail?: string },
      ...buttons: string[]
    ) {
      return Promise.resolve(
        next({ kind: "modal", message, detail: o.detail, buttons }) as
          | string
          | undefined,
      );
    },
    showErrorMessage(message: string) {
      shown.push({ kind: "error", message });
      return Promise.resolve(undefined);
    },
    showInformationMessage(message: string) {
      shown.push({ kind: "info", message });
      return Promise.resolve(undefined);
    },
    createTerminal(o: TerminalOptions) {
      terminals.push(o);
      return { show() {} };
    },
  };
  return {
    api: { window } as unknown as Api,
    state: {
      get: <T>(k: string) => store.get(k) as T | undefined,
      update: (k: string, v: unknown) => (store.set(k, v), Promise.resolve()),
    },
    shown,
    terminals,
    answer: (...a) => queue.push(...a),
  };
}

/** Run a terminal's program and argv the way VS Code starts it (no shell); its output and code. */
export async function runTerminal(
  t: TerminalOptions,
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(t.shellPath, {
    args: t.shellArgs,
    cwd: t.cwd,
    env: t.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}
