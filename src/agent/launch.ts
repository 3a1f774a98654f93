/**
 * `start --prompt`: a session start followed by an agent run, composed here above both (a session never
 * imports an agent). The run starts once the session is ready; when it cannot start, the session stays.
 */
import type { Config } from "../config/schema.ts";
import type { Kube } from "../kube/client.ts";
import { KodamaError, usageError } from "../errors.ts";
import { type StartIO, type StartOptions, startSession } from "../session/start.ts";

export interface AgentStartOptions extends StartOptions {
  /** a prompt for a coding-agent run once the session is ready (`--prompt`, `--prompt-file`) */
  prompt?: string;
  /** the agent command of that run (a group's `--agent-variant`; default agent.command) */
  agentCommand?: string[];
  /** run in the workspace when that run's agent has ended (`--check`; default agent.check) */
  check?: string;
}

/** Checked before any request: what a prompt needs. */
export function checkPromptOptions(o: AgentStartOptions): void {
  if (o.prompt !== undefined && o.noWait && !o.dryRun) {
    throw usageError("--prompt needs the session ready: it cannot be combined with --no-wait");
  }
  if (o.check !== undefined && o.prompt === undefined) {
    throw usageError("--check runs when the agent has ended: it needs --prompt or --prompt-file");
  }
}

/** The start options with the agent run (if there is a prompt) as the session's afterReady step. */
export function withAgentRun(kube: Kube, o: AgentStartOptions, cfg: Config, io: StartIO): StartOptions {
  const { prompt, agentCommand, check, ...rest } = o;
  if (prompt === undefined) return rest;
  return {
    ...rest,
    afterReady: async ({ spec, pod }) => {
      const { agentRun } = await import("./agentrun.ts");
      try {
        await agentRun(kube, spec.namespace, spec.name, {
          pod,
          prompt,
          command: agentCommand ?? spec.agentCommand ?? cfg.agent.command,
          check: check ?? cfg.agent.check,
          stallTimeout: cfg.agent.stallTimeout,
          ...io,
        });
      } catch (e) {
        // the session is ready and stays (its clone is work): only the agent run did not start
        if (!(e instanceof KodamaError)) throw e;
        throw new KodamaError(
          e.message,
          e.code,
          `${
            e.hint ? `${e.hint}; ` : ""
          }session ${spec.name} is ready: kodama agent run ${spec.name} tries again`,
        );
      }
    },
  };
}

/** Start a session, then (with a prompt) the agent's first run in it. */
export async function startWithAgent(
  kube: Kube,
  o: AgentStartOptions,
  cfg: Config,
  io: StartIO,
): Promise<number> {
  checkPromptOptions(o);
  return await startSession(kube, withAgentRun(kube, o, cfg, io), cfg, io);
}
