/** The agent verbs as the CLI calls them: flags in, one feature function, an exit code out. */
import { resolve } from "../fspath.ts";
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { KodamaError, usageError } from "../errors.ts";
import { formatLimit, READ_LIMITS, readTextBounded } from "../boundedread.ts";

/** `--prompt-file -`: stdin, refused once it passes the prompt limit. */
async function readStdinBounded(): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of Deno.stdin.readable) {
    size += c.length;
    if (size > READ_LIMITS.prompt) {
      throw usageError(
        `cannot read --prompt-file -: stdin is larger than ${
          formatLimit(READ_LIMITS.prompt)
        }, the most kodama reads as a prompt`,
      );
    }
    parts.push(c);
  }
  return await new Blob(parts as BlobPart[]).text();
}
import { stderrSink, stdoutSink } from "../base/sink.ts";
import { agentLogs, agentRun, agentStatus, agentStop } from "./agentrun.ts";

/** The prompt from --prompt or --prompt-file (exactly one; `-` reads stdin). Checked before any request. */
export async function readPrompt(
  f: { prompt?: string; promptFile?: string },
  cwd = Deno.cwd(),
): Promise<string | undefined> {
  if (f.prompt !== undefined && f.promptFile !== undefined) {
    throw usageError("give either --prompt or --prompt-file, not both");
  }
  let text: string | undefined = f.prompt;
  if (f.promptFile !== undefined) {
    const o = { what: "--prompt-file", kind: "prompt" as const, display: f.promptFile };
    try {
      text = f.promptFile === "-"
        ? await readStdinBounded()
        : await readTextBounded(resolve(cwd, f.promptFile), o);
    } catch (e) {
      if (e instanceof KodamaError) throw e;
      throw usageError(`cannot read --prompt-file ${f.promptFile}: ${(e as Error).message}`);
    }
  }
  if (text !== undefined && !text.trim()) throw usageError("the prompt is empty");
  return text;
}

/** What `agent run --continue` tells the agent when no prompt is given. */
export const CONTINUE_PROMPT =
  "Continue the task from your last conversation where it stopped: the previous run was interrupted before it finished.";

export async function runCommand(
  kube: Kube,
  name: string,
  f: { prompt?: string; promptFile?: string; check?: string; continue?: boolean },
  cfg: Config,
): Promise<number> {
  const prompt = (await readPrompt(f)) ?? (f.continue ? CONTINUE_PROMPT : undefined);
  if (prompt === undefined) {
    throw usageError("a prompt is required: --prompt TEXT or --prompt-file FILE (or --continue)");
  }
  return await agentRun(kube, kube.namespace, name, {
    prompt,
    // Claude Code's --continue: its last conversation, kept on the home volume, goes on
    command: f.continue ? [...cfg.agent.command, ...cfg.agent.continueArgs] : cfg.agent.command,
    continues: f.continue,
    check: f.check ?? cfg.agent.check,
    out: stdoutSink,
    err: stderrSink,
  });
}

export async function statusCommand(kube: Kube, name: string, output: string): Promise<number> {
  return await agentStatus(kube, kube.namespace, name, { output, out: stdoutSink, err: stderrSink });
}

export async function logsCommand(kube: Kube, name: string, run: string | undefined, follow: boolean) {
  return await agentLogs(kube, kube.namespace, name, { run, follow, out: stdoutSink, err: stderrSink });
}

export async function stopCommand(kube: Kube, name: string, run: string | undefined) {
  return await agentStop(kube, kube.namespace, name, { run, out: stdoutSink, err: stderrSink });
}
