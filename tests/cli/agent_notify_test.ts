/**
 * The webhook is sent by the pod (#65 point 3), black-box against the test server: notify.webhook in the
 * user's config, a session started with it, a run started — then no kodama process runs any more (each
 * command has exited; the session syncs nothing) when the run is let end, and a local receiver gets the
 * signed event. The signature checks out with ~/.kodama/notify.key; neither the key nor the URL's token is
 * in the pod's arguments, the pod object, the state file or `session get`; the agent never sees them.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { psArgs, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const TOKEN = "hooktoken-5512-never-shown";
// waits for a file the test makes (so it ends with no kodama running), says whether it saw the webhook's
// variables, and ends
const AGENT = `p=$(cat); echo "notify-vars: $(env | grep -c '^KODAMA_NOTIFY_')"; ` +
  `while [ ! -f release ]; do sleep 0.2; done; echo agent: done`;
const NAME = "wh";

interface Got {
  body: string;
  ts: string;
  sig: string;
}

async function signed(key: string, ts: string, body: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(`${ts}.${body}`)));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

withSessionWorld(
  "agent webhook: the pod sends a signed event when the run ends, with kodama stopped",
  { ignore: onRealCluster, timeoutMs: 5 * 60_000 },
  async (_t, w) => {
    let arrived!: (g: Got) => void;
    const first = new Promise<Got>((r) => (arrived = r));
    const paths: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      paths.push(new URL(req.url).search);
      arrived({
        body: await req.text(),
        ts: req.headers.get("x-kodama-timestamp") ?? "",
        sig: req.headers.get("x-kodama-signature") ?? "",
      });
      return new Response("ok");
    });
    try {
      await Deno.mkdir(w.home, { recursive: true });
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `notify:\n  webhook: http://127.0.0.1:${server.addr.port}/hook?token=${TOKEN}\n`,
      );
      await Deno.writeTextFile(
        join(w.cwd, ".kodama.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
      );
      const s = await w.k(["start", NAME, "--no-sync", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      // start says where the pod will tell, masked
      assertMatch(
        s.stderr,
        /note: the session's pod tells http:\/\/127\.0\.0\.1:\d+\/\*\*\* when a run ends/,
      );
      assert(!s.stderr.includes(TOKEN) && !s.stdout.includes(TOKEN));
      const key = (await Deno.readTextFile(join(w.home, "notify.key"))).trim();
      assertMatch(key, /^[0-9a-f]{64}$/);
      const r = await w.k(["agent", "run", NAME, "--prompt", "do it"]);
      assertEquals(r.code, 0, r.stderr);
      const run = r.stdout.trim();
      // every kodama command has exited: what follows is the pod's alone
      const get = await w.k(["session", "get", NAME, "-o", "yaml"]);
      const pod = await w.kc(["get", "pod", `kodama-${NAME}`, "-o", "yaml"]);
      const state = await Deno.readTextFile(join(w.home, "sessions", `${NAME}.yaml`)).catch(() => "");
      const ps = await psArgs();
      for (
        const [what, text] of [["session get", get.stdout + get.stderr], ["the pod", pod.stdout], [
          "state",
          state,
        ], ["ps", ps]]
      ) {
        assert(!text.includes(key), `the key is in ${what}`);
        assert(!text.includes(TOKEN), `the webhook's token is in ${what}`);
      }
      assertEquals(paths, [], "nothing is sent before the run ends");

      const rel = await w.kc([
        "exec",
        `kodama-${NAME}`,
        "--",
        "sh",
        "-c",
        'touch "$KODAMA_WORKSPACE/release"',
      ]);
      assertEquals(rel.code, 0, rel.stderr);
      const g = await Promise.race([
        first,
        new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no webhook within 60 s")), 60_000)),
      ]);
      assertEquals(g.sig, await signed(key, g.ts, g.body));
      assert(Math.abs(Number(g.ts) - Date.now() / 1000) < 120);
      assertEquals(paths, [`?token=${TOKEN}`]);
      const b = JSON.parse(g.body);
      assertEquals(
        { event: b.event, session: b.session, run: b.run, outcome: b.outcome, filesChanged: b.filesChanged },
        // a session without a repository: no git facts
        { event: "done", session: NAME, run, outcome: "succeeded", filesChanged: null },
      );
      assertEquals([b.commits, b.text], [0, `kodama: ${NAME} run ${run} succeeded (0 commits)`]);
      // the agent ran without the webhook's variables
      const logs = await w.k(["agent", "logs", NAME, run]);
      assertMatch(logs.stdout, /notify-vars: 0/);

      // agent run --no-notify: this run's end is not sent (the pod says it skipped nothing: no attempt)
      const quiet = await w.k(["agent", "run", NAME, "--prompt", "again", "--no-notify"]);
      assertEquals(quiet.code, 0, quiet.stderr);
      const followed = await w.k(["agent", "logs", NAME, quiet.stdout.trim(), "-f"]);
      assertEquals(followed.code, 0, followed.stderr);
      const left = await w.kc([
        "exec",
        `kodama-${NAME}`,
        "--",
        "sh",
        "-c",
        `ls "$HOME/.kodama/runs/${quiet.stdout.trim()}"`,
      ]);
      const files = left.stdout.split("\n");
      assert(files.includes("no-notify") && !files.includes("notify"), left.stdout);
      assertEquals(paths.length, 1, "the --no-notify run sent nothing");
    } finally {
      await server.shutdown();
      await purge(w, NAME);
    }
  },
);
