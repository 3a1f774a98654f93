/**
 * workflows_list and workflow_run. A workflow runs only as the user already trusted it (the content
 * hash pinned by `kodama run NAME --trust` or the terminal prompt): the run is asked never to trust and
 * never to prompt, so an untrusted or changed workflow is a tool error naming the command the user runs
 * themselves. No argument reaches the trust decision.
 */
import { z } from "zod";
import { ExitCode, KodamaError } from "../base/errors.ts";
import type { Call } from "./env.ts";
import { anyObject, capture, contextArg, namespaceArg, tool } from "./tool.ts";
import { cap } from "./sessions.ts";

const cwdArg = z.string().min(1).optional().describe(
  "the local directory whose repository workflows and .kodama.yaml apply (default: where the server was started)",
);

export const workflowsList = tool({
  name: "workflows_list",
  title: "List workflows",
  description:
    "The workflows `kodama run` finds from cwd (repository, ~/.kodama/workflows, built in): name, source, " +
    "description, and whether running it needs the user's trust and has it.",
  tier: "read",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: { cwd: cwdArg },
  output: { workflows: z.array(anyObject) },
  async run(a, call) {
    const cwd = await call.env.o.door.cwd(a.cwd);
    const json = capture(), table = capture();
    const { listCommand } = await import("../workflow/commands.ts");
    await listCommand({ output: "json", out: json, cwd });
    await listCommand({ out: table, cwd });
    const rows = JSON.parse(json.text()) as {
      name: string;
      source: string;
      file: string;
      shadowedBy?: unknown;
    }[];
    const { loadWorkflowFile } = await import("../workflow/file.ts");
    const { prepareWorkflow } = await import("../workflow/prepare.ts");
    const { needsTrust, isTrusted } = await import("../workflow/trust.ts");
    const workflows = await Promise.all(rows.map(async (r) => {
      try {
        const lw = await loadWorkflowFile(r.file, r.source as never);
        const prepared = await prepareWorkflow(lw, { cwd });
        const needs = await needsTrust(prepared);
        return { ...r, needsTrust: needs, trusted: needs ? await isTrusted(prepared) : true };
      } catch (e) {
        return { ...r, invalid: (e as Error).message.split("\n")[0] };
      }
    }));
    return { data: { workflows }, text: table.text() };
  },
});

/** The refusal of an untrusted workflow, with the command only the user may run. */
function untrusted(e: KodamaError, name: string): KodamaError {
  return new KodamaError(
    e.message,
    ExitCode.FORBIDDEN,
    `trust cannot be given over MCP: the user reads the workflow (\`kodama workflow show ${name}\`), then runs \`kodama run ${name} --trust\` in a terminal`,
  );
}

export const workflowRun = tool({
  name: "workflow_run",
  title: "Run a trusted workflow",
  description:
    "Run a workflow (`kodama run NAME --param K=V`) that the user has already trusted, in its sandbox. An " +
    "untrusted or changed workflow is refused with the command the user must run themselves; nothing here can " +
    "grant trust. dryRun shows the plan without running anything.",
  tier: "write",
  // a workflow does what its (trusted) steps do, deletions included
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  input: {
    name: z.string().min(1).describe("the workflow's name as workflows_list shows it (never a file path)"),
    param: z.array(z.string()).optional().describe("its params, NAME=VALUE each"),
    context: contextArg,
    namespace: namespaceArg.describe("overrides the namespace of every target"),
    dryRun: z.boolean().optional().describe("show what would run, run nothing"),
    cwd: cwdArg,
  },
  output: {
    workflow: z.string(),
    exitCode: z.number(),
    failure: z.string().optional(),
    steps: z.record(z.string(), anyObject),
    output: z.string(),
    truncated: z.boolean(),
  },
  async run(a, call: Call) {
    const cwd = await call.env.o.door.cwd(a.cwd);
    const [{ findWorkflow }, { loadWorkflowFile }, { runWorkflow }, { createDisplay }, { parseParamFlags }, {
      redactingSink,
    }] = await Promise.all([
      import("../workflow/discovery.ts"),
      import("../workflow/file.ts"),
      import("../workflow/engine.ts"),
      import("../workflow/display.ts"),
      import("../workflow/params.ts"),
      import("../base/redact.ts"),
    ]);
    const params = parseParamFlags(a.param ?? []);
    // a name as workflows_list shows it, never a file by its path (the door's rule, as the web UI's)
    const ref = await findWorkflow(call.env.o.door.workflowName(a.name), cwd, { byName: true });
    const lw = await loadWorkflowFile(ref.file, ref.source);
    const out = capture(), err = capture();
    const outSink = redactingSink(out), errSink = redactingSink(err);
    const display = createDisplay({ out: outSink, err: errSink, live: false, color: false });
    const { connectionFlags } = await import("../kube/overrides.ts");
    const globalFlags = connectionFlags({ ...call.env.o.kube, context: call.env.contextFor(a.context) });
    let steps = 0;
    const progressing = {
      ...display,
      start(key: string, label: string, depth: number) {
        display.start(key, label, depth);
        call.progress(++steps, undefined, label);
      },
    };
    let r;
    try {
      r = await runWorkflow(lw, {
        params,
        dryRun: a.dryRun,
        // never: trust is the user's decision, made in a terminal
        trust: false,
        yes: false,
        interactive: false,
        connect: () => call.env.kube(a.context),
        namespace: a.namespace,
        display: progressing,
        signal: call.signal,
        globalFlags,
        cwd,
        // the client's values name no local path the door would not let through
        door: call.env.o.door,
      });
    } catch (e) {
      if (e instanceof KodamaError && /\bis not trusted\b/.test(e.message)) throw untrusted(e, lw.name);
      throw e;
    } finally {
      display.close();
      outSink.flush();
      errSink.flush();
    }
    const { text, truncated } = cap(out.text() + err.text(), call.env.o.maxOutput);
    return {
      data: {
        workflow: lw.name,
        exitCode: r.exitCode,
        ...(r.failure ? { failure: r.failure } : {}),
        steps: r.steps as unknown as Record<string, Record<string, unknown>>,
        output: text,
        truncated,
      },
      text: text + (r.exitCode ? `workflow ${lw.name} failed at ${r.failure} (exit ${r.exitCode})\n` : ""),
    };
  },
});

export const WORKFLOW_TOOLS = [workflowsList, workflowRun];
