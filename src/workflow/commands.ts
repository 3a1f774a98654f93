/**
 * The feature functions behind `kodama workflow …` (src/cli/* only parse flags and call these);
 * `kodama run` is run.ts.
 */
import { ExitCode, KodamaError } from "../base/errors.ts";
import { type Sink, stderrSink, stdoutSink } from "../base/sink.ts";
import { bold, colorEnabled, dim, red } from "../ui/color.ts";
import { discover, findWorkflow, type WorkflowRef } from "./discovery.ts";
import { formatProblem, parseWorkflowText, type Problem, WorkflowProblems } from "./load.ts";
import { loadWorkflowFile, readWorkflowText } from "./file.ts";
import type { Source } from "./model.ts";
import { resolve } from "node:path";
import { shownPath } from "./prepare.ts";
import { workflowJsonSchema } from "./schema.ts";
import { displayPath } from "../config/paths.ts";
import { fileUrlToPath, hostPlatform } from "../base/platform.ts";
import { escapeControl as esc } from "../base/text/escape.ts";

/** `kodama workflow list` */
export async function listCommand(o: { output?: string; out?: Sink; cwd?: string }): Promise<void> {
  const out = o.out ?? stdoutSink;
  const refs = await discover(o.cwd);
  const rows = await Promise.all(refs.map(async (r) => ({ ...r, description: await describe(r) })));
  if (o.output === "json") {
    out.write(
      JSON.stringify(
        rows.map((r) => ({
          name: r.name,
          source: r.source,
          file: r.file,
          description: r.description,
          shadowedBy: r.shadowedBy ? { source: r.shadowedBy.source, file: r.shadowedBy.file } : undefined,
        })),
        null,
        2,
      ) + "\n",
    );
    return;
  }
  if (o.output === "name") {
    for (const r of rows) if (!r.shadowedBy) out.write(esc(r.name) + "\n");
    return;
  }
  const table = [["NAME", "SOURCE", "DESCRIPTION", "FILE"]];
  for (const r of rows) {
    const src = r.shadowedBy ? `${r.source} (shadowed by ${r.shadowedBy.source})` : r.source;
    // names, descriptions and file names come from the repo: nothing in them may rewrite the terminal
    table.push([
      esc(r.name),
      src,
      esc(r.description),
      r.source === "builtin" ? "(built in)" : esc(displayPath(r.file)),
    ]);
  }
  const w = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) {
    out.write(row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(w[i]))).join("  ") + "\n");
  }
}

async function describe(r: WorkflowRef): Promise<string> {
  try {
    const p = parseWorkflowText(await readWorkflowText(r.file), r.file);
    if (!p.workflow) return "(invalid: kodama workflow validate)";
    return (p.workflow.description ?? "").split("\n")[0];
  } catch {
    return "(unreadable)";
  }
}

/**
 * `kodama workflow show NAME -o json`: what a front end needs to run it — name, source, file,
 * description, params (type, default, required, enum values) and the trust question (trust.ts's
 * TrustStatus: whether running it needs trust, the lines naming what it may touch, the hash to pin).
 */
export async function showJson(name: string): Promise<Record<string, unknown>> {
  const ref = await findWorkflow(name);
  const lw = await loadWorkflowFile(ref.file, ref.source);
  const { trustStatus } = await import("./trust.ts");
  const { prepareWorkflow } = await import("./prepare.ts");
  const prepared = await prepareWorkflow(lw);
  const w = lw.workflow;
  return {
    name: lw.name,
    source: ref.source,
    file: ref.file,
    description: w.description ?? "",
    params: Object.entries(w.params ?? {}).map(([pname, p]) => ({
      name: pname,
      type: p.type ?? "string",
      ...(p.description !== undefined ? { description: p.description } : {}),
      ...(p.default !== undefined ? { default: p.default } : {}),
      required: !!p.required,
      ...(p.values ? { values: p.values } : {}),
    })),
    permissions: w.permissions ?? {},
    trust: await trustStatus(prepared),
  };
}

/** `kodama workflow show NAME`: the file itself on stdout; where it came from on stderr (-o json: showJson). */
export async function showCommand(
  name: string,
  o: { out?: Sink; err?: Sink; output?: string } = {},
): Promise<void> {
  if (o.output === "json") {
    (o.out ?? stdoutSink).write(JSON.stringify(await showJson(name), null, 2) + "\n");
    return;
  }
  const ref = await findWorkflow(name);
  const text = await readWorkflowText(ref.file);
  const all = await discover();
  const hidden = all.filter((r) => r.name === ref.name && r.shadowedBy);
  const color = colorEnabled("stderr");
  (o.err ?? stderrSink).write(
    dim(
      `# ${esc(ref.name)} — ${ref.source}: ${esc(ref.file)}${
        hidden.map((h) => `\n# shadows ${h.source}: ${esc(h.file)}`).join("")
      }`,
      color,
    ) + "\n",
  );
  // a valid YAML file holds no control characters: any there are shown, not obeyed
  const shown = esc(text, { newlines: true });
  (o.out ?? stdoutSink).write(shown.endsWith("\n") ? shown : shown + "\n");
}

/**
 * `kodama workflow validate [FILES...]`: every problem as file:line:col; exit 2 when any. Each file
 * is checked on its own — one that cannot be read or parsed does not stop the others — and with
 * what it reaches: its scripts' module graphs and the workflows it calls (cycles, depth).
 */
export async function validateCommand(files: string[], o: { out?: Sink; err?: Sink } = {}): Promise<number> {
  const out = o.out ?? stdoutSink;
  const err = o.err ?? stderrSink;
  const targets: { file: string; source: Source }[] = files.length
    ? files.map((f) => ({
      file: f,
      source: /[\\/]\.kodama[\\/]workflows[\\/]/.test(resolve(f)) ? "repo" : "file",
    }))
    : (await discover()).map((r) => ({ file: r.file, source: r.source }));
  const seen = new Set<string>();
  const problems: Problem[] = [];
  let bad = 0;
  for (const t of targets) {
    const found = await validateOne(t.file, t.source);
    if (found.length) bad++;
    for (const p of found) {
      const line = formatProblem(p);
      if (!seen.has(line)) problems.push(p);
      seen.add(line);
    }
  }
  for (const p of problems) out.write(esc(formatProblem(p), { newlines: true }) + "\n");
  const color = colorEnabled("stderr");
  err.write(
    bad
      ? `${
        red(`${problems.length} problem${problems.length === 1 ? "" : "s"}`, color)
      } in ${bad} of ${targets.length} file(s)\n`
      : `${bold("ok", color)}: ${targets.length} workflow file(s) valid\n`,
  );
  return bad ? ExitCode.USAGE : ExitCode.OK;
}

async function validateOne(file: string, source: Source): Promise<Problem[]> {
  try {
    const lw = await loadWorkflowFile(file, source);
    const { prepareWorkflow } = await import("./prepare.ts");
    await prepareWorkflow(lw, { missingIsProblem: true });
    return [];
  } catch (e) {
    // files reached through calls are named relative to the cwd when inside it
    if (e instanceof WorkflowProblems) {
      return e.problems.map((p) => p.file === reportedPath(file) ? p : { ...p, file: shownPath(p.file) });
    }
    const message = e instanceof KodamaError ? e.message : `cannot check the file: ${(e as Error).message}`;
    return [{ file, line: 1, col: 1, message }];
  }
}

/** The path a workflow file's problems are reported under (loadWorkflowFile turns file: URLs into paths). */
function reportedPath(file: string): string {
  return file.startsWith("file:") ? fileUrlToPath(file, hostPlatform()) : file;
}

/** `kodama workflow schema`: the JSON Schema of workflow files. */
export function schemaCommand(o: { out?: Sink } = {}): void {
  (o.out ?? stdoutSink).write(JSON.stringify(workflowJsonSchema(), null, 2) + "\n");
}
