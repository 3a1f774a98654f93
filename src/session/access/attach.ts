/**
 * `kodama attach [NAME] [--command CMD]`: a shell in the session's workspace, or one command with its
 * exit code. The TTY handling (raw mode, resize, restore) is the exec code's (`execOne`). Without a
 * name the picker opens over the sessions.
 *
 * The shell is chosen in the pod, in one exec: `session.shell` when the image has it, else bash, else
 * sh; a `session.shell` of zellij attaches to (or creates) the session's zellij session, so detaching
 * keeps its panes running.
 */
import { restartText } from "../state/disruption.ts";
import { cutLine, podGoing } from "../state/replaced.ts";
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../../kube/client.ts";
import type { KubeIdentity, KubeObjects } from "../../kube/seam.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import type { Sink } from "../../base/sink.ts";
import { listSessions, requireSession } from "../state/cluster.ts";
import { CONTAINER } from "../spec/spec.ts";
import type { SessionView } from "../state/status.ts";
import ATTACH from "../pod/attach.sh" with { type: "text" };

/** Runs in the pod as `sh -c SCRIPT kodama-attach SHELL` (pod/attach.sh). */
export const SHELL_SCRIPT: string = ATTACH;

/** The command line run in the pod. */
export function attachArgv(o: { command?: string; shell: string }): string[] {
  return o.command !== undefined
    ? ["sh", "-c", o.command]
    : ["sh", "-c", SHELL_SCRIPT, "kodama-attach", o.shell];
}

export interface AttachOptions {
  command?: string;
  /** `-c`: a sidecar instead of the session container */
  container?: string;
  /** false: never a TTY (--no-tty); undefined: a TTY when stdin and stdout are terminals */
  tty?: boolean;
  shell: string;
  out: Sink;
  err: Sink;
  /** local terminal facts (tests override) */
  stdinIsTerminal: boolean;
  stdoutIsTerminal: boolean;
  /** `--resume`: a stopped session is resumed without a question */
  resume?: boolean;
  /** a question can be asked (stdin and stderr are terminals) */
  interactive?: boolean;
  confirm?: (message: string) => Promise<boolean>;
  /** resume the session (as `kodama resume` does); attach then goes on */
  bringBack?: (name: string) => Promise<number>;
}

/** Why a session cannot be attached to, as an error with the command that fixes it. */
export function notAttachable(v: SessionView): KodamaError | undefined {
  if (v.status === "Running" && v.pod) return undefined;
  if (v.restart) {
    // the cluster moved the pod and its Job is bringing it back (issue 80): a pause, not a failure
    return new KodamaError(
      `session ${v.name} is restarting (${
        restartText(v.restart).replace(/^Restarting:? ?/, "") || "its pod went"
      }): the cluster is bringing its pod back`,
      ExitCode.FAILED,
      `wait for it: kodama list -w   (then attach again)`,
    );
  }
  switch (v.status) {
    case "Stopped":
      return new KodamaError(
        `session ${v.name} is stopped${
          v.reason && v.stoppedAt ? ` (${v.reason}, since ${v.stoppedAt})` : ""
        }`,
        ExitCode.FAILED,
        `resume it: kodama resume ${v.name}   (or attach with --resume, which resumes it first)`,
      );
    case "Failed":
      return new KodamaError(
        `session ${v.name} failed: ${v.reason ?? "its pod cannot run"}`,
        ExitCode.FAILED,
        `look at it: kodama session get ${v.name}`,
      );
    default:
      return new KodamaError(
        `session ${v.name} is not ready yet (${v.status}${v.reason ? `: ${v.reason}` : ""})`,
        ExitCode.FAILED,
        `follow it with: kodama list -w`,
      );
  }
}

/** Choose a session with the picker (running ones only). */
async function pickSession(kube: KubeObjects & KubeIdentity, namespace: string): Promise<string> {
  const { sessions } = await listSessions(kube, namespace);
  const running = sessions.filter((v) => v.status === "Running");
  if (running.length === 0) {
    throw new KodamaError(
      `no running sessions in namespace ${namespace}${
        sessions.length ? ` (${sessions.length} not running)` : ""
      }`,
      ExitCode.NOT_FOUND,
      sessions.length ? "see them with `kodama list`" : "start one: kodama start NAME",
    );
  }
  const { pickItems } = await import("../../picker/mod.ts");
  const [chosen] = await pickItems(
    running.map((v) => ({
      id: `${v.namespace}/${v.name}`,
      label: v.name,
      namespace: v.namespace,
      payload: v,
    })),
    {
      noun: "session",
      flagHint: "name the session: kodama attach NAME",
      preview: async () => {
        const { sessionPreview } = await import("../state/get.ts");
        return (it) => sessionPreview(it.payload);
      },
    },
  );
  if (!chosen) throw new KodamaError("no session chosen", ExitCode.INTERRUPTED);
  return chosen.name;
}

export async function attachSession(
  kube: Kube,
  namespace: string,
  name: string | undefined,
  o: AttachOptions,
): Promise<number> {
  const session = name ?? await pickSession(kube, namespace);
  let v = await requireSession(kube, namespace, session);
  if (v.status === "Stopped" && !v.pod?.metadata?.deletionTimestamp && o.bringBack) {
    // a stopped session (idle stop, `stop`) comes back: --resume, or yes to the question on a terminal
    const yes = o.resume ||
      (o.interactive && o.confirm &&
        await o.confirm(`session ${session} is stopped${v.reason ? ` (${v.reason})` : ""}; resume it?`));
    if (yes) {
      const code = await o.bringBack(session);
      if (code !== ExitCode.OK) return code;
      v = await requireSession(kube, namespace, session);
    }
  }
  const why = notAttachable(v);
  if (why) throw why;
  // an interactive shell needs a terminal on stdin; a command gets one when both ends are terminals
  const tty = o.tty !== false &&
    (o.command === undefined ? o.stdinIsTerminal : o.stdinIsTerminal && o.stdoutIsTerminal);
  const container = o.container ?? CONTAINER;
  const names = (v.pod!.spec?.containers ?? []).map((c) => c.name);
  if (!names.includes(container)) {
    throw new KodamaError(
      `session ${v.name} has no container ${container}`,
      ExitCode.NOT_FOUND,
      `its containers: ${names.join(", ")}`,
    );
  }
  const { execOne } = await import("../../pods/exec.ts");
  let code: number;
  try {
    code = await execOne(kube, v.pod!, {
      command: attachArgv({ command: o.command, shell: o.shell }),
      container,
      // a shell reads stdin (a terminal or a script piped in); a command only with a terminal
      stdin: o.command === undefined || tty,
      tty,
      out: o.out,
      err: o.err,
    });
  } catch (e) {
    if (!(e instanceof KodamaError) || e.code !== ExitCode.FAILED) throw e;
    if (!(await cutByPodEnd(kube, namespace, session, v.pod!, o.err))) throw e;
    return ExitCode.FAILED;
  }
  // the pod's end (an eviction, a lost node, a delete) ends the shell as kubectl's would: said in one
  // line, exit 1; the cluster brings the pod back, and a new attach reaches it (a shell is not resumed)
  if (code !== ExitCode.OK && await cutByPodEnd(kube, namespace, session, v.pod!, o.err)) {
    return ExitCode.FAILED;
  }
  return code;
}

/** The shell ended because its pod went away: say so in one line (replaced.ts: cutLine). */
async function cutByPodEnd(
  kube: KubeObjects & KubeIdentity,
  namespace: string,
  name: string,
  pod: V1Pod,
  err: Sink,
): Promise<boolean> {
  const going = await podGoing(kube, namespace, name, pod);
  if (!going) return false;
  err.write(`\nkodama: ${cutLine(name, going.gone)}\n`);
  return true;
}
