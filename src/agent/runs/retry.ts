/**
 * The web UI's Continue and Retry buttons on a session's latest run (issue 65), as feature functions:
 * Continue goes on with the same conversation (`agent run --continue`, the default continue prompt); Retry
 * gives the latest run's own prompt (read back from the pod, RUN/prompt) to a new conversation. Neither runs
 * while the latest run is running.
 */
import type { KubeSessions } from "../../kube/seam.ts";
import type { Config } from "../../config/schema.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { execCapture, listRuns, runningPod, startRun } from "./agentrun.ts";
import { PROLOGUE } from "./agent.ts";
import { CONTINUE_PROMPT } from "./prompts.ts";
import type { Sink } from "../../base/sink.ts";
import PROMPT_SH from "../pod/prompt.sh" with { type: "text" };

const PROMPT_SCRIPT = [...PROLOGUE, PROMPT_SH].join("\n");

/** `continue`: a --continue run; `retry`: the latest run's prompt again, a new conversation. Its run id. */
export async function againRun(
  kube: KubeSessions,
  namespace: string,
  name: string,
  how: "continue" | "retry",
  /** `prompt`: a continuation's own prompt instead of the plain "go on" (the request's feedback: --from-pr) */
  o: { cfg: Config; err: Sink; prompt?: string },
): Promise<string> {
  const pod = await runningPod(kube, namespace, name);
  const last = (await listRuns(kube, pod)).at(-1);
  if (!last) {
    throw new KodamaError(
      `no agent runs in session ${name} yet`,
      ExitCode.NOT_FOUND,
      `kodama agent run ${name}`,
    );
  }
  if (last.state === "running") {
    throw new KodamaError(
      `run ${last.id} of session ${name} is still running`,
      ExitCode.USAGE,
      "say something to it, interrupt it, or wait for it to end",
    );
  }
  let prompt = how === "continue" && o.prompt ? o.prompt : CONTINUE_PROMPT;
  if (how === "retry") {
    const r = await execCapture(kube, pod, ["sh", "-c", PROMPT_SCRIPT, "kodama-prompt", last.id]);
    if (r.code !== 0 || !r.stdout.trim()) {
      throw new KodamaError(`run ${last.id} of session ${name} has no prompt to retry`, ExitCode.NOT_FOUND);
    }
    prompt = r.stdout;
  }
  return await startRun(kube, namespace, name, {
    pod,
    prompt,
    cfg: o.cfg,
    continues: how === "continue",
    // Continue runs the check of the run it continues again (pod/start.sh), as `agent run --continue` does
    ...(how === "continue" ? {} : { check: o.cfg.agent.check }),
    stallTimeout: o.cfg.agent.stallTimeout,
    out: o.err,
    err: o.err,
  });
}
