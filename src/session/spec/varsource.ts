/**
 * Where a local variable's value comes from, one rule for `start` (the env Secret it plans) and `agent check`
 * (the request it sends from this machine), so a check approves the key a start would send (issue 84.3).
 *
 * Lowest to highest: the env files a config or a template names, in order (a later one wins); this
 * environment; the files named on the command line (`--env-file`, `named`), in order (a later one wins).
 * What this invocation names beats what a config names, and a flag beats the environment. A key kept by
 * `agent keys` is read only when none of them has the variable. The environment and `agent keys` supply
 * only the names the user's config lets leave (`forward`); an excluded name never comes from anywhere here.
 * An empty value counts as unset.
 */
import type { EnvSource } from "./envfile.ts";

/** A variable's value and where it came from: `env file .env`, `this environment`, `kodama agent keys`. */
export interface VarSource {
  value: string;
  from: string;
}

export interface VarRule {
  /** the env files read, in their order; a `named` one came from the command line */
  sources: (Pick<EnvSource, "file" | "vars"> & { named?: boolean })[];
  /** the names this environment and `agent keys` may supply (the user's config alone decides) */
  forward: readonly string[];
  /** a variable of this environment */
  here: (name: string) => string | undefined;
  /** a key kept by `agent keys` */
  stored?: (name: string) => Promise<string | undefined>;
  /** names never taken (`env.excludeVars`, `--env-exclude`) */
  excluded?: readonly string[];
}

/** The last of `sources` with a non-empty `name`. */
function lastFile(sources: VarRule["sources"], name: string): VarSource | undefined {
  const s = sources.findLast((x) => x.vars[name]);
  return s ? { value: s.vars[name], from: `env file ${s.file}` } : undefined;
}

/** Each of `names` that has a value, and where it came from (see the module's rule). */
export async function resolveVars(names: readonly string[], r: VarRule): Promise<Record<string, VarSource>> {
  const out: Record<string, VarSource> = {};
  for (const n of new Set(names)) {
    if (r.excluded?.includes(n)) continue;
    const forwarded = r.forward.includes(n);
    const here = forwarded ? r.here(n) : undefined;
    const v = lastFile(r.sources.filter((s) => s.named), n) ??
      (here ? { value: here, from: "this environment" } : undefined) ??
      lastFile(r.sources.filter((s) => !s.named), n);
    if (v) out[n] = v;
    else if (forwarded && r.stored) {
      const kept = await r.stored(n).catch(() => undefined);
      if (kept) out[n] = { value: kept, from: "kodama agent keys" };
    }
  }
  return out;
}
