/**
 * Drive a program in a private tmux server (own socket, fixed size) for picker tests:
 *   const t = await Tmux.start("deno run … pick …", { width: 120, height: 30 });
 *   await t.waitFor((screen) => screen.includes("3/4"));
 *   await t.keys("2", "Enter");
 *   const code = await t.exitCode();   // the command's exit status
 *   await t.stop();
 * The command runs under `sh -c` with stdout to a file (stderr stays on the terminal: the picker draws
 * there); its exit code and `stty -a` before/after are written to files too.
 */
import { shellQuote } from "../../src/base/text/escape.ts";
export const HAVE_TMUX: boolean = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();

function shq(s: string): string {
  return shellQuote(s, { always: true });
}

export class Tmux {
  private constructor(readonly socket: string, readonly dir: string) {}

  static async start(
    command: string,
    opts: { width?: number; height?: number; env?: Record<string, string> } = {},
  ): Promise<Tmux> {
    const socket = `kodama-test-${crypto.randomUUID().slice(0, 8)}`;
    const dir = await Deno.makeTempDir({ prefix: "kodama-tmux-" });
    const t = new Tmux(socket, dir);
    // the caller's NO_COLOR must not leak in through the tmux server: colour is what a test asks for
    const env = "unset NO_COLOR\n" +
      Object.entries(opts.env ?? {}).map(([k, v]) => `export ${k}=${shq(v)}\n`).join("");
    // the command runs via a script that records its pid (exec keeps it), for signal tests
    await Deno.writeTextFile(`${dir}/run.sh`, `${env}echo $$ > ${dir}/pid\nexec ${command}\n`);
    const script = [
      `stty -a > ${dir}/stty.before`,
      `sh ${dir}/run.sh > ${dir}/stdout`,
      `echo $? > ${dir}/code.tmp; stty -a > ${dir}/stty.after; mv ${dir}/code.tmp ${dir}/code`,
      `sleep 600`,
    ].join("; ");
    await t.tmux(
      "new-session",
      "-d",
      "-x",
      String(opts.width ?? 120),
      "-y",
      String(opts.height ?? 30),
      "sh",
      "-c",
      script,
    );
    return t;
  }

  private async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  /** The visible screen, trailing blank lines removed. */
  async screen(): Promise<string> {
    return (await this.tmux("capture-pane", "-p")).replace(/\s+$/, "");
  }

  /** tmux key names (Enter, Escape, Tab, BTab, Up, C-a …) or literal text. */
  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) await this.tmux("send-keys", k);
  }

  async type(text: string): Promise<void> {
    await this.tmux("send-keys", "-l", text);
  }

  async waitFor(
    pred: (screen: string) => boolean,
    what = "screen condition",
    timeoutMs = 15_000,
  ): Promise<string> {
    const end = Date.now() + timeoutMs;
    let s = "";
    while (Date.now() < end) {
      s = await this.screen();
      if (pred(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
  }

  /** Wait for the command to finish; its exit code. */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        return Number((await Deno.readTextFile(`${this.dir}/code`)).trim());
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`command did not exit; screen:\n${await this.screen()}`);
  }

  /** Where the terminal cursor is (0-based column and row) and whether it is visible. */
  async cursor(): Promise<{ x: number; y: number; visible: boolean }> {
    const [x, y, flag] = (await this.tmux("display-message", "-p", "#{cursor_x} #{cursor_y} #{cursor_flag}"))
      .trim().split(" ").map(Number);
    return { x, y, visible: flag === 1 };
  }

  async resize(width: number, height: number): Promise<void> {
    await this.tmux("resize-window", "-x", String(width), "-y", String(height));
  }

  /** Send a signal to the command. */
  async kill(signal: Deno.Signal): Promise<void> {
    Deno.kill(Number((await Deno.readTextFile(`${this.dir}/pid`)).trim()), signal);
  }

  /**
   * Copy every byte the program writes to the terminal into `file` (tmux pipe-pane): what a screen
   * capture cannot show, such as an OSC 52 clipboard write or a bidi override, is there raw.
   */
  async record(file: string): Promise<void> {
    await this.tmux("pipe-pane", "-o", `cat >> ${shq(file)}`);
  }

  read(name: "stdout" | "stty.before" | "stty.after"): Promise<string> {
    return Deno.readTextFile(`${this.dir}/${name}`).catch(() => "");
  }

  async stop(): Promise<void> {
    try {
      await this.tmux("kill-server");
    } catch { /* already gone */ }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
