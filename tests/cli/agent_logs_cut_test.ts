/**
 * `kodama agent logs NAME -f` outlasts a cut stream, as `stern` does where `kubectl logs -f` ends: while the
 * run goes on, every exec is cut and refused (the test server's dropStreams: an API server restart, a network
 * cut); the follow says so on stderr, takes the log up again where it was once exec works, shows every line
 * exactly once and exits with the run's outcome. Black-box, the real program, as `dev` in `dev`.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { objectNames } from "../../src/session/spec/names.ts";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";

const NAME = "lc";
// three lines, then a wait for the test's go-on (an event), then the last line
const AGENT = `cat > /dev/null; for i in 1 2 3; do echo "before-$i"; done; : > "$HOME/.kodama/wait-mark"; ` +
  `while [ ! -e "$HOME/.kodama/go-on" ]; do sleep 0.1; done; echo after-go-on`;

withSessionWorld("agent logs -f: a cut stream is followed again where it was, each line once", {
  ignore: onRealCluster, // the fault is the test server's
  timeoutMs: 5 * 60_000,
}, async (_t, w) => {
  await Deno.writeTextFile(
    join(w.cwd, ".kodama.yaml"),
    `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
  );
  const kodama = join(w.c.testServer!.api.pvcDir("dev", objectNames(NAME).homePVC), ".kodama");
  try {
    const s = await w.k(["start", NAME, "--no-sync", "--image", SESSION_IMAGE]);
    assertEquals(s.code, 0, s.stderr);
    const r = await w.k(["agent", "run", NAME, "--prompt", "go"]);
    assertEquals(r.code, 0, r.stderr);
    await waitUntil(() => exists(join(kodama, "wait-mark")), 60_000, "the agent's wait");
    const child = w.spawn(["agent", "logs", NAME, "-f"]);
    let out = "", err = "";
    const reading = Promise.all([
      (async () => {
        for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
      })(),
      (async () => {
        for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
      })(),
    ]);
    await waitUntil(() => Promise.resolve(out.includes("before-3")), 60_000, "the first lines");
    w.c.faults.dropStreams(true);
    try {
      await Deno.writeTextFile(join(kodama, "go-on"), "");
      await waitUntil(() => exists(join(kodama, "runs", "1", "exit")), 60_000, "the run's end");
      await waitUntil(
        () => Promise.resolve(/the log stream was cut/.test(err)),
        60_000,
        "the follow to say it was cut",
      );
    } finally {
      w.c.faults.dropStreams(false);
    }
    const code = (await child.status).code;
    await reading;
    assertEquals(code, 0, err);
    const lines = out.split("\n").filter((l) => /^(before-\d|after-go-on)$/.test(l));
    assertEquals(lines, ["before-1", "before-2", "before-3", "after-go-on"], out);
    assertMatch(err, /kodama: the log stream was cut \(.+\); trying again for up to 2 minutes$/m);
    assertMatch(err, /agent run 1 succeeded/);
    assert(!err.includes("kodama-logs: run"), err);
  } finally {
    await purge(w, NAME);
  }
});

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
