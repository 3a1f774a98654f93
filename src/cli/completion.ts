/**
 * `kodama completion bash|zsh|fish|powershell` prints a shell's completion script; the hidden `kodama __complete
 * WORDS…` answers it (and kubectl, through the `kubectl_complete-kodama` executable). main.ts sends
 * `__complete` here before commander parses anything, so no flag of the line being completed is read as
 * kodama's own.
 */
import { command } from "./opttypes.ts";
import type { GlobalOptions } from "./connect.ts";
import type { CmdLike } from "./tree.ts";
import type { Request } from "./complete.ts";
import { arg, type CommandSpec } from "./spec.ts";
import { quote } from "../base/text/escape.ts";

const completion = command({
  names: ["completion"],
  help: {
    group: "Settings",
    summary: "Print the shell completion script for bash, zsh, fish or PowerShell",
    usage: "(bash | zsh | fish | powershell)",
    long: `The script completes kodama, kpod and kwekash: commands, flags, contexts, namespaces, pods in the
namespace typed so far, containers, sessions, workflows and their --param keys, config keys. Values that
need the cluster come within a second, or not at all. 'kubectl kodama <TAB>' needs no script of kodama's:
kubectl (1.26+) asks the kubectl_complete-kodama executable that 'deno task install' installs.
The bash script works on bash 3.2 (macOS's /bin/bash) as well as bash 4 and 5.`,
    examples: [
      ["Complete in this bash", "source <(kodama completion bash)"],
      [
        "Complete in every new bash [not in the demo]",
        "kodama completion bash > ~/.local/share/bash-completion/completions/kodama",
      ],
      ["zsh (with compinit loaded)", "source <(kodama completion zsh)"],
      ["fish [not in the demo]", "kodama completion fish > ~/.config/fish/completions/kodama.fish"],
      [
        "PowerShell (Windows PowerShell 5.1 or 7) [not in the demo]",
        "kodama completion powershell | Out-String | Invoke-Expression",
      ],
      ["PowerShell, every new session [not in the demo]", "kodama completion powershell >> $PROFILE"],
    ],
  },
  args: [arg("<shell>", "bash, zsh, fish or powershell")],
  run: async (inv) => {
    const shell = inv.args[0];
    const { completionScript, SHELLS } = await import("../complete/scripts.ts");
    if (!(SHELLS as readonly string[]).includes(shell)) {
      const { usageError } = await import("../base/errors.ts");
      throw usageError(`unsupported shell ${quote(shell)}`, `use one of: ${SHELLS.join(", ")}`);
    }
    await Deno.stdout.write(new TextEncoder().encode(await completionScript(shell as "bash")));
  },
});

/** main.ts answers `__complete` before any reader sees the line; declared here for the tree and help. */
const complete = command({
  names: ["__complete"],
  help: {
    internal: true,
    summary: "Answer shell completion (Cobra's protocol): kodama __complete WORDS… ''",
    examples: [],
  },
  args: [arg("[words...]")],
  unknownOptions: true,
});

export const commands: CommandSpec[] = [completion, complete];

/** Global flags typed on the line being completed (`--context dev -n prod`), for the cluster lookups. */
function globalsFromLine(values: Record<string, string[]>): GlobalOptions {
  const one = (k: string) => values[k]?.at(-1);
  return {
    kubeconfig: one("kubeconfig"),
    context: one("context"),
    namespace: one("namespace"),
    cluster: one("cluster"),
    user: one("user"),
    server: one("server"),
    token: one("token"),
    certificateAuthority: one("certificateAuthority"),
    insecureSkipTlsVerify: one("insecureSkipTlsVerify") === "true" ? true : undefined,
    as: one("as"),
    asGroup: values.asGroup,
    asUid: one("asUid"),
  };
}

/** `kodama __complete WORDS…` (`__completeNoDesc`: without descriptions). Prints; returns the exit code. */
export async function runComplete(root: CmdLike, words: string[], desc: boolean): Promise<number> {
  await Deno.stdout.write(new TextEncoder().encode(await completeLine(root, words, desc)));
  return 0;
}

/**
 * The answer to `__complete WORDS…`, as text. Whatever needs the cluster must answer within 1 s of the
 * process start (KODAMA_COMPLETION_TIMEOUT_MS changes it), or is left out.
 */
export async function completeLine(root: CmdLike, words: string[], desc: boolean): Promise<string> {
  const [{ complete, format }, sources, { kubeOptionsFrom }, { silenceConfigWarnings }] = await Promise.all([
    import("./complete.ts"),
    import("../complete/sources.ts"),
    import("./connect.ts"),
    import("./settings.ts"),
  ]);
  silenceConfigWarnings(); // nothing may reach the terminal while the user types
  const budget = Number(Deno.env.get("KODAMA_COMPLETION_TIMEOUT_MS") ?? "") || 1000;
  // counted from the process start: loading kodama is part of what the user waits for
  const deadlineMs = Math.max(300, budget - performance.now());
  const kubeFor = async (r: Request) => {
    const o = await kubeOptionsFrom(globalsFromLine(r.line.values));
    const { Kube } = await import("../kube/client.ts");
    const kube = await Kube.connect({ ...o, requestTimeoutMs: deadlineMs });
    const all = r.line.values.allNamespaces !== undefined;
    return { kube, o, ns: all ? undefined : kube.namespace };
  };
  const operand = (r: Request, i: number) => r.line.operands[i];
  const result = await complete(root, words, {
    namespaces: async (r) => {
      const { kube, o } = await kubeFor(r);
      return await sources.namespaces(kube, o);
    },
    contexts: async (r) =>
      sources.kubeconfigEntries(await kubeOptionsFrom(globalsFromLine(r.line.values)), "contexts"),
    clusters: async (r) =>
      sources.kubeconfigEntries(await kubeOptionsFrom(globalsFromLine(r.line.values)), "clusters"),
    users: async (r) =>
      sources.kubeconfigEntries(await kubeOptionsFrom(globalsFromLine(r.line.values)), "users"),
    pods: async (r) => {
      const { kube, ns } = await kubeFor(r);
      return await sources.pods(kube, ns, r.line.values.selector?.at(-1));
    },
    containers: async (r) => {
      const { kube, ns } = await kubeFor(r);
      const target = operand(r, 0);
      const pod = r.line.values.pod?.at(-1) ??
        (target && !target.includes("/") ? target : target?.startsWith("pod/") ? target.slice(4) : undefined);
      return await sources.containers(kube, ns ?? kube.namespace, {
        name: pod,
        labelSelector: r.line.values.selector?.at(-1),
        match: r.line.values.match,
      });
    },
    labels: async (r) => {
      const { kube, ns } = await kubeFor(r);
      return await sources.labels(kube, ns);
    },
    targets: async (r) => {
      const { kube, ns } = await kubeFor(r);
      const t = await sources.targets(kube, ns ?? kube.namespace, r.toComplete);
      return { candidates: t.candidates, directive: t.noSpace ? 2 | 4 : 4 };
    },
    sessions: async (r) => {
      const { kube, ns } = await kubeFor(r);
      return await sources.sessions(kube, ns);
    },
    workflows: async (r) => {
      // a path completes as a file (kodama run ./ci/smoke.yaml)
      if (/^[./~]/.test(r.toComplete)) {
        return { candidates: [{ value: "yaml" }, { value: "yml" }], directive: 8 };
      }
      return await sources.workflows();
    },
    templates: () => sources.templates(),
    params: async (r) => {
      const wf = operand(r, 0);
      if (!wf) return [];
      const params = await sources.workflowParams(wf);
      return { candidates: params, directive: r.toComplete.includes("=") ? 4 : 2 | 4 };
    },
    "config-keys": () => sources.configKeys(),
    "config-values": (r) => sources.configValues(operand(r, 0) ?? ""),
    "cp-path": async (r) => {
      // [namespace/]pod:path — pod names (with the ':'), else local files
      if (r.toComplete.includes(":") || /^[./~]/.test(r.toComplete)) return { candidates: [], directive: 0 };
      const { kube, ns } = await kubeFor(r);
      const list = await sources.pods(kube, ns ?? kube.namespace);
      return { candidates: list.map((p) => ({ ...p, value: `${p.value}:` })), directive: 2 };
    },
  }, { desc, deadlineMs });
  return format(result);
}
