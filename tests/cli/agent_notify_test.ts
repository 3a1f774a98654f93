/**
 * The webhook without a gateway, black-box against the test server (issue 79 escape 4): notify.webhook in
 * the user's config, a session started with it — and neither the webhook's URL nor the user's key is in
 * the session's env Secret, any Secret its pod takes, or any env/envFrom of its pod (what is in a pod is the
 * agent's). The laptop is the relay: `agent wait` sees the run end and a local receiver gets the signed
 * event, whose signature checks out with ~/.kodama/notify.key; neither the key nor the URL's token is in
 * the pod's arguments, the pod object, the state file or `session get`; the agent never sees them; a
 * `--no-notify` run is not told. (Through a gateway: tests/agents/gateway_notify_test.ts.)
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { podOf, psArgs, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

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
  "agent webhook without a gateway: nothing of it in the pod; the laptop sends the signed event when it sees the run end",
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
      // start says once who sends the webhooks, and never the URL
      assertMatch(
        s.stderr,
        /note: without a gateway, webhooks \(notify.webhook\) are sent when kodama on your machine sees a run end/,
      );
      assert(!s.stderr.includes(TOKEN) && !s.stdout.includes(TOKEN));
      assert(!s.stderr.includes("127.0.0.1:"), "the webhook's address is not printed");
      const key = (await Deno.readTextFile(join(w.home, "notify.key"))).trim();
      assertMatch(key, /^[0-9a-f]{64}$/);
      // the pod and every Secret it takes hold neither the URL nor the key, under any name
      const podJson = JSON.parse((await w.kc(["get", "pod", await podOf(w, NAME), "-o", "json"])).stdout);
      const secrets = new Set<string>([`kodama-env-${NAME}`]);
      const specs = [...(podJson.spec.containers ?? []), ...(podJson.spec.initContainers ?? [])];
      for (const c of specs) {
        for (const f of c.envFrom ?? []) if (f.secretRef?.name) secrets.add(f.secretRef.name);
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
        }
      }
      for (const v of podJson.spec.volumes ?? []) if (v.secret?.secretName) secrets.add(v.secret.secretName);
      for (const name of secrets) {
        const sec = await w.kc(["get", "secret", name, "-o", "json"]);
        if (sec.code !== 0) continue;
        const data = JSON.parse(sec.stdout).data ?? {};
        const text = Object.entries(data).map(([k, v]) =>
          `${k}=${new TextDecoder().decode(Uint8Array.fromBase64(v as string))}`
        ).join("\n");
        for (const bad of [key, TOKEN, `127.0.0.1:${server.addr.port}`]) {
          assert(!text.includes(bad), `Secret ${name} holds the webhook's URL or the user's key`);
        }
        assert(!/KODAMA_NOTIFY_(URL|SECRET|KEY)=/.test(text), `Secret ${name} holds a webhook variable`);
      }
      assert(secrets.has(`kodama-env-${NAME}`));
      const podText = JSON.stringify(podJson.spec);
      for (const bad of [key, TOKEN, `127.0.0.1:${server.addr.port}`]) {
        assert(!podText.includes(bad), "the pod's spec holds the webhook's URL or the user's key");
      }
      const r = await w.k(["agent", "run", NAME, "--prompt", "do it"]);
      assertEquals(r.code, 0, r.stderr);
      const run = r.stdout.trim();
      const get = await w.k(["session", "get", NAME, "-o", "yaml"]);
      const pod = await w.kc(["get", "pod", await podOf(w, NAME), "-o", "yaml"]);
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
        await podOf(w, NAME),
        "--",
        "sh",
        "-c",
        'touch "$KODAMA_WORKSPACE/release"',
      ]);
      assertEquals(rel.code, 0, rel.stderr);
      // kodama on this machine sees the run end, and sends it before it exits
      const waited = await w.k(["agent", "wait", NAME, "--timeout", "60s"]);
      assertEquals(waited.code, 0, waited.stderr);
      assertEquals(paths.length, 1, "the run's end was sent once");
      const g = await first;
      assertEquals(g.sig, await signed(key, g.ts, g.body));
      assert(Math.abs(Number(g.ts) - Date.now() / 1000) < 120);
      assertEquals(paths, [`?token=${TOKEN}`]);
      const b = JSON.parse(g.body);
      assertEquals(
        { event: b.event, session: b.session, run: b.run, outcome: b.outcome, filesChanged: b.filesChanged },
        // a session without a repository: no git facts
        { event: "done", session: NAME, run, outcome: "succeeded", filesChanged: null },
      );
      assertEquals(b.namespace, "dev");
      // seen again: not sent twice
      assertEquals((await w.k(["agent", "logs", NAME, run, "-f"])).code, 0);
      assertEquals(paths.length, 1);
      // the agent ran without any webhook variable
      const logs = await w.k(["agent", "logs", NAME, run]);
      assertMatch(logs.stdout, /notify-vars: 0/);

      // agent run --no-notify: this run's end is not sent (the pod says it skipped nothing: no attempt)
      const quiet = await w.k(["agent", "run", NAME, "--prompt", "again", "--no-notify"]);
      assertEquals(quiet.code, 0, quiet.stderr);
      const followed = await w.k(["agent", "logs", NAME, quiet.stdout.trim(), "-f"]);
      assertEquals(followed.code, 0, followed.stderr);
      const left = await w.kc([
        "exec",
        await podOf(w, NAME),
        "--",
        "sh",
        "-c",
        `ls "$HOME/.kodama/runs/${quiet.stdout.trim()}"`,
      ]);
      assert(!left.stdout.split("\n").includes("notify"), left.stdout);
      assertEquals(paths.length, 1, "the --no-notify run sent nothing");
    } finally {
      await server.shutdown();
      await purge(w, NAME);
    }
  },
);
