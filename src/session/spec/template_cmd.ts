/** `kodama template list|show|validate`: the feature functions (src/cli/template.ts is the front end). */
import { ExitCode } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { renderTable } from "../../ui/table.ts";
import {
  describeTemplate,
  findTemplate,
  type Template,
  templatesOfFile,
  type TemplateWhere,
  validateTemplates,
} from "./template.ts";

export interface TemplateIO extends TemplateWhere {
  out: Sink;
  err: Sink;
}

const where = (t: Template) => t.file ?? t.source;

/** `template list`: NAME SOURCE DESCRIPTION, nearest first; shadowed ones marked on stderr. */
export async function templateListCommand(io: TemplateIO, output: string): Promise<number> {
  // an invalid template is said on stderr; the others are listed
  const set = await validateTemplates(io);
  for (const p of set.problems) io.err.write(`warning: ${p}\n`);
  if (output === "name") {
    io.out.write(set.templates.map((t) => `${t.name}\n`).join(""));
  } else if (output === "json") {
    io.out.write(
      JSON.stringify(
        set.templates.map((t) => ({
          name: t.name,
          source: t.source,
          file: t.file,
          description: t.description,
        })),
        null,
        2,
      ) + "\n",
    );
  } else {
    io.out.write(renderTable(
      ["NAME", "SOURCE", "DESCRIPTION"],
      set.templates.map((
        t,
      ) => [t.name, t.source === "built-in" ? "built-in" : where(t), t.description ?? ""]),
    ));
  }
  for (const s of set.shadowed) {
    io.err.write(`note: ${s.name} from ${where(s)} is hidden by the one listed\n`);
  }
  return ExitCode.OK;
}

/** `template show NAME`: its settings as YAML on stdout, where it comes from on stderr. */
export async function templateShowCommand(name: string, io: TemplateIO): Promise<number> {
  const t = await findTemplate(name, io);
  io.err.write(`# template ${t.name} (${t.source}${t.file ? `, ${t.file}` : ""})\n`);
  for (const i of t.ignored ?? []) io.err.write(`# not used: ${i}\n`);
  io.out.write((await describeTemplate(t)) + "\n");
  return ExitCode.OK;
}

/** `template validate [FILE...]`: every problem as file:line:col: message; exit 2 when there is one. */
export async function templateValidateCommand(files: string[], io: TemplateIO): Promise<number> {
  const problems: string[] = [];
  let ok = 0;
  if (files.length) {
    for (const f of files) {
      try {
        ok += (await templatesOfFile(f, io.cwd)).length;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) problems.push(`${f}: no such file`);
        else if (e instanceof Error && "code" in e) problems.push(e.message);
        else throw e;
      }
    }
  } else {
    const r = await validateTemplates(io);
    problems.push(...r.problems);
    ok = r.templates.length + r.shadowed.length;
  }
  for (const p of problems) io.err.write(`${p}\n`);
  io.out.write(
    `${ok} template${ok === 1 ? "" : "s"} valid${
      problems.length ? `, ${problems.length} problem${problems.length === 1 ? "" : "s"}` : ""
    }\n`,
  );
  return problems.length ? ExitCode.USAGE : ExitCode.OK;
}
