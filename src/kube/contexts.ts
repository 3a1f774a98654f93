/**
 * `--context a,b`, `--context '*'`, `--context 'prod-*'`: the kubeconfig contexts a command runs against,
 * one Kube per context (stern's `--context` with several clusters). A plain name is one context, as in
 * kubectl.
 */
import { type KubeOptions, readKubeConfig } from "./config.ts";
import { Kube } from "./client.ts";
import { usageError } from "../base/errors.ts";
import { quote } from "../base/text/escape.ts";

const GLOB = /[*?[]/;

/** True when `--context` names more than one context (a list or a pattern). */
export function isMultiContext(spec: string | undefined): boolean {
  return !!spec && (spec.includes(",") || GLOB.test(spec));
}

/** A shell-style pattern (`*`, `?`, `[a-z]`, `[!x]`) as a RegExp over the whole name; `*` matches `/` too. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * The context names `spec` selects among `known` (kubeconfig order for patterns, the given order for
 * names; each once). An unknown name, or a pattern that matches nothing, is a usage error.
 */
export function expandContexts(spec: string, known: string[]): string[] {
  const out: string[] = [];
  const add = (n: string) => {
    if (!out.includes(n)) out.push(n);
  };
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (GLOB.test(part)) {
      const re = globToRegExp(part);
      const hits = known.filter((k) => re.test(k));
      if (!hits.length) {
        throw usageError(
          `no context matches ${quote(part)}`,
          `known contexts: ${known.join(", ") || "none"}`,
        );
      }
      hits.forEach(add);
    } else {
      if (!known.includes(part)) {
        throw usageError(
          `context ${quote(part)} does not exist`,
          `known contexts: ${known.join(", ") || "none"}`,
        );
      }
      add(part);
    }
  }
  if (!out.length) throw usageError(`--context ${JSON.stringify(spec)} names no context`);
  return out;
}

/** One Kube per context `opts.context` selects (a single one for a plain name or none). */
export async function connectContexts(opts: KubeOptions): Promise<Kube[]> {
  if (!isMultiContext(opts.context)) return [await Kube.connect(opts)];
  const known = (await readKubeConfig({ ...opts, context: undefined })).getContexts()
    .map((c) => c.name);
  return await Promise.all(
    expandContexts(opts.context!, known).map((context) => Kube.connect({ ...opts, context })),
  );
}
