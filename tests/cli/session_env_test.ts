/**
 * `kodama session env set|unset NAME VAR…` (issue 66.2), black-box: the env Secret changes in place, the
 * running pod's ~/.kodama/env gets the change for the next agent run, no value is printed back, and bad
 * input is a clear exit 2 or 3.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { hasStackTrace } from "./_run.ts";
import { shellQuote } from "../../src/base/text/escape.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const SECRET = "tok-9f3e-secret-value";
const ENVLOAD = await Deno.readTextFile(new URL("../../src/agent/pod/envload.sh", import.meta.url));

withSessionWorld(
  "sessions: session env set|unset changes the env Secret and the running pod's next run, no replace",
  { timeoutMs: 5 * 60_000 },
  async (_t, w) => {
    const envFile = join(w.cwd, "one.env");
    await Deno.writeTextFile(envFile, "KEEP=1\nGONE=old\n");
    try {
      const s = await w.k(["start", "e", "--no-sync", "--image", SESSION_IMAGE, "--env-file", envFile]);
      assertEquals(s.code, 0, s.stderr);
      const uid = (await w.kc(["get", "pod", await podOf(w, "e"), "-o", "jsonpath={.metadata.uid}"])).stdout;

      const set = await w.k(["session", "env", "set", "e", "API_TOKEN", "MODE=fast"], {
        env: { API_TOKEN: SECRET },
      });
      assertEquals(set.code, 0, set.stderr);
      assertEquals(
        set.stdout,
        "set API_TOKEN, MODE in session e's env Secret and the running pod: the next agent run uses it\n",
      );
      assert(!set.stdout.includes(SECRET) && !set.stderr.includes(SECRET));
      const un = await w.k(["session", "env", "unset", "e", "GONE"]);
      assertEquals(un.code, 0, un.stderr);

      const keys = await w.kc(["get", "secret", "kodama-env-e", "-o", "jsonpath={.data}"]);
      const data = JSON.parse(keys.stdout) as Record<string, string>;
      assertEquals(Object.keys(data).sort(), ["API_TOKEN", "KEEP", "MODE"]);
      assertEquals(atob(data.API_TOKEN), SECRET);
      // what a run sees: envload.sh puts the pod's env files over the container's environment
      const run = await w.sh(
        "e",
        `sh -c ${
          shellQuote(ENVLOAD, { always: true })
        } kodama-env sh -c 'echo "$API_TOKEN|$MODE|$KEEP|\${GONE-unset}"'`,
      );
      assertEquals(run.code, 0, run.stderr);
      assertEquals(run.stdout, `${SECRET}|fast|1|unset\n`);
      // no replace: the same pod
      assertEquals(
        (await w.kc(["get", "pod", await podOf(w, "e"), "-o", "jsonpath={.metadata.uid}"])).stdout,
        uid,
      );
      // the names recorded with the session follow (never the values)
      const rec = await w.kc([
        "get",
        "pod",
        await podOf(w, "e"),
        "-o",
        "jsonpath={.metadata.annotations.kodama\\.dev/spec}",
      ]);
      assertEquals(JSON.parse(rec.stdout).envVars.sort(), ["API_TOKEN", "KEEP", "MODE"]);
      assert(!rec.stdout.includes(SECRET));

      const bad = await w.k(["session", "env", "set", "e", "NOT_HERE"], { env: { NOT_HERE: "" } });
      assertEquals(bad.code, 2, bad.stderr);
      assertStringIncludes(bad.stderr, "NOT_HERE is not set here");
      const name = await w.k(["session", "env", "set", "e", "1X=2"]);
      assertEquals(name.code, 2, name.stderr);
      const none = await w.k(["session", "env", "unset", "e", "NEVER"]);
      assertEquals(none.code, 3, none.stderr);
      assertStringIncludes(none.stderr, "has no NEVER");
      const gone = await w.k(["session", "env", "set", "nosuch", "MODE=x"]);
      assertEquals(gone.code, 3, gone.stderr);
      for (const r of [bad, name, none, gone]) assert(!hasStackTrace(r.stderr), r.stderr);
    } finally {
      await purge(w, "e");
    }
  },
);
