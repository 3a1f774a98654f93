/**
 * The part of the VS Code API the command handlers use, as plain types. The extension passes the
 * real `vscode` module; the integration tests (tests/integration/vscode_handlers_test.ts) pass a
 * small fake that records what QuickPicks show and which terminals open with which argv. Keeping
 * the handlers on this interface keeps them free of `import "vscode"`, so `deno test` runs them.
 */
export interface QuickPickItem {
  label: string;
  description?: string;
  detail?: string;
  picked?: boolean;
  alwaysShow?: boolean;
}

export interface QuickPickOptions {
  title?: string;
  placeHolder?: string;
  matchOnDescription?: boolean;
  matchOnDetail?: boolean;
  canPickMany?: boolean;
  ignoreFocusOut?: boolean;
}

export interface InputBoxOptions {
  title?: string;
  prompt?: string;
  value?: string;
  placeHolder?: string;
  ignoreFocusOut?: boolean;
  validateInput?: (value: string) => string | undefined | null;
}

export interface Disposable {
  dispose(): void;
}

/** createQuickPick's object, as far as the handlers use it (a pick list the user may also type into). */
export interface QuickPick<T extends QuickPickItem> extends Disposable {
  title?: string;
  placeholder?: string;
  value: string;
  items: readonly T[];
  readonly selectedItems: readonly T[];
  onDidAccept(listener: () => void): Disposable;
  onDidHide(listener: () => void): Disposable;
  onDidChangeValue(listener: (value: string) => void): Disposable;
  show(): void;
  hide(): void;
}

export interface TerminalOptions {
  name: string;
  shellPath: string;
  shellArgs: string[];
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Keep the terminal, with the command's output and exit status, after the command ends. VS Code closes an
   * extension's terminal as soon as its process exits (the output of `hostname` or of a workflow would
   * vanish), so the extension runs these as tasks, whose terminals wait for a key. Interactive work the
   * user ends (a shell, an attached session) closes as a terminal does.
   */
  hold?: boolean;
}

export interface Terminal {
  show(preserveFocus?: boolean): void;
}

export interface Window {
  showQuickPick<T extends QuickPickItem>(
    items: readonly T[] | Promise<readonly T[]>,
    options?: QuickPickOptions & { canPickMany?: false },
  ): PromiseLike<T | undefined>;
  showQuickPick<T extends QuickPickItem>(
    items: readonly T[] | Promise<readonly T[]>,
    options: QuickPickOptions & { canPickMany: true },
  ): PromiseLike<readonly T[] | undefined>;
  createQuickPick<T extends QuickPickItem>(): QuickPick<T>;
  showInputBox(options?: InputBoxOptions): PromiseLike<string | undefined>;
  showWarningMessage(
    message: string,
    options: { modal?: boolean; detail?: string },
    ...items: string[]
  ): PromiseLike<string | undefined>;
  showErrorMessage(
    message: string,
    ...items: string[]
  ): PromiseLike<string | undefined>;
  showInformationMessage(
    message: string,
    ...items: string[]
  ): PromiseLike<string | undefined>;
  createTerminal(options: TerminalOptions): Terminal;
}

export interface Api {
  window: Window;
}

/** Extension state that lasts across restarts (context.globalState / workspaceState). */
export interface Memento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

/** The open editor, as the manifest parser and the CodeLens need it. */
export interface EditorContext {
  text: string;
  /** the cursor as a character offset into text */
  offset: number;
  fileName: string;
}
