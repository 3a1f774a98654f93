/**
 * One rule for where a local variable comes from (session/spec/varsource.ts), for `start` and `agent check`
 * alike (issue 84.3): `--env-file` over this environment over the config's files, the later file winning,
 * `agent keys` last; only the names the user's config forwards from the environment and the keys.
 */
import { assertEquals } from "@kodama/test-assert";
import { resolveVars, type VarRule } from "../../../src/session/spec/varsource.ts";

const K = "ANTHROPIC_API_KEY";
const cfgFile = (file: string, v: string) => ({ file, vars: { [K]: v } });
const named = (file: string, v: string) => ({ file, vars: { [K]: v }, named: true });
const rule = (o: Partial<VarRule>): VarRule => ({ sources: [], forward: [K], here: () => undefined, ...o });

Deno.test("varsource: --env-file over this environment over the config's files", async () => {
  const here = () => "from-env";
  const sources = [cfgFile("agents.env", "cfg"), named("bad.env", "named")];
  assertEquals(await resolveVars([K], rule({ sources, here })), {
    [K]: { value: "named", from: "env file bad.env" },
  });
  assertEquals(await resolveVars([K], rule({ sources: [sources[0]], here })), {
    [K]: { value: "from-env", from: "this environment" },
  });
  assertEquals(await resolveVars([K], rule({ sources: [sources[0]] })), {
    [K]: { value: "cfg", from: "env file agents.env" },
  });
});

Deno.test("varsource: the later file wins, in each rank; an empty value is unset", async () => {
  const sources = [cfgFile("a.env", "a"), cfgFile("b.env", "b"), named("x.env", "x"), named("y.env", "y")];
  assertEquals((await resolveVars([K], rule({ sources })))[K].from, "env file y.env");
  assertEquals((await resolveVars([K], rule({ sources: sources.slice(0, 2) })))[K].from, "env file b.env");
  const empty = [cfgFile("a.env", "a"), named("x.env", "")];
  assertEquals((await resolveVars([K], rule({ sources: empty })))[K].value, "a");
});

Deno.test("varsource: agent keys only when nothing else has it; only forwarded names; excluded never", async () => {
  const stored = (n: string) => Promise.resolve(n === K ? "kept" : undefined);
  assertEquals(await resolveVars([K], rule({ stored })), {
    [K]: { value: "kept", from: "kodama agent keys" },
  });
  assertEquals((await resolveVars([K], rule({ stored, here: () => "e" })))[K].value, "e");
  // a name the config does not forward: neither the environment nor the keys supply it, a file does
  const off = rule({ forward: [], here: () => "e", stored });
  assertEquals(await resolveVars([K], off), {});
  assertEquals((await resolveVars([K], { ...off, sources: [cfgFile("a.env", "a")] }))[K].value, "a");
  assertEquals(await resolveVars([K], rule({ here: () => "e", stored, excluded: [K] })), {});
});
