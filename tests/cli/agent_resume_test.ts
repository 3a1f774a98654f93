/**
 * Issue 80, black-box: an agent run whose pod is deleted mid-run (the real kubectl) resumes by itself on the
 * pod the Job brings back, continuing the same conversation (the preset's --continue), and `agent wait` and
 * `agent status -o json` report its end: succeeded, resumed once, cause `deleted`. The agent is a stand-in
 * for Claude Code's CLI on the home volume's PATH (two steps, its progress in the workspace).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { waitUntil } from "../cluster/harness.ts";
import { podOf, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const RESULT = `{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"done"}`;
/** `claude …`: step 1 works until ended; with --continue, step 2 finishes. */
const FAKE_CLAUDE = [
  "#!/bin/sh",
  `case " $* " in *" --continue "*) echo step2 >> "$KODAMA_WORKSPACE/progress"; printf '%s\\n' '${RESULT}'; exit 0 ;; esac`,
  `echo step1 >> "$KODAMA_WORKSPACE/progress"`,
  "while :; do sleep 0.2; done",
].join("\n");

withSessionWorld(
  "agent resume: a run whose pod is deleted resumes on the next pod and succeeds",
  {},
  async (t, w) => {
    let first = "", uid = "";
    // the webhook (no gateway: kodama on this machine sends it when it sees the run end): once, at the end
    const hooks: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      hooks.push(await req.text());
      return new Response("ok");
    });
    await Deno.mkdir(w.home, { recursive: true });
    await Deno.writeTextFile(
      join(w.home, "config.yaml"),
      `notify:\n  webhook: http://127.0.0.1:${server.addr.port}/hook\n`,
    );
    await t.step("start, a run's first step", async () => {
      const r = await w.k(["start", "rs", "--image", SESSION_IMAGE, "--no-sync"]);
      assertEquals(r.code, 0, r.stderr);
      const put = await w.sh(
        "rs",
        `mkdir -p "$HOME/.local/bin" && printf '%s\\n' '${
          FAKE_CLAUDE.replaceAll("'", "'\\''")
        }' > "$HOME/.local/bin/claude" && chmod +x "$HOME/.local/bin/claude"`,
      );
      assertEquals(put.code, 0, put.stderr);
      const run = await w.k(["agent", "run", "rs", "--agent", "claude", "--prompt", "do both steps"]);
      assertEquals(run.code, 0, run.stderr);
      await waitUntil(
        async () => (await w.sh("rs", `cat "$KODAMA_WORKSPACE/progress" 2>/dev/null`)).stdout === "step1\n",
        60_000,
        "step 1",
      );
      first = await podOf(w, "rs");
      uid = (await w.kc(["get", "pod", first, "-o", "jsonpath={.metadata.uid}"])).stdout;
      assert(uid);
    });

    await t.step("kubectl delete pod: the run resumes on the new pod; agent wait says its end", async () => {
      // agent wait from before the delete: it follows the run to the next pod and says its end, not the cut
      const waiter = w.spawn(["agent", "wait", "rs", "--timeout", "3m"]);
      // the waiter's exec is in the pod (its wait.sh, with this pod's uid in its environment)
      await waitUntil(
        async () =>
          (await w.sh(
            "rs",
            `for f in $(grep -l "KODAMA_POD_UID=${uid}" /proc/[0-9]*/environ 2>/dev/null); do grep -q "kodama-wai[t]" "\${f%environ}cmdline" 2>/dev/null && echo in; done`,
          )).stdout.includes("in"),
        30_000,
        "agent wait's exec in the pod",
      );
      assertEquals((await w.kc(["delete", "pod", "-l", "kodama.dev/session=rs", "--wait=false"])).code, 0);
      const wr = await waiter.output();
      const dec = new TextDecoder();
      assertEquals(wr.code, 0, dec.decode(wr.stderr) + dec.decode(wr.stdout));
      assert((await podOf(w, "rs")) !== first);
      const st = await w.k(["agent", "status", "rs", "-o", "json"]);
      assertEquals(st.code, 0, st.stderr);
      const run = JSON.parse(st.stdout).items.at(-1);
      assertEquals(run.state, "succeeded");
      assertEquals(run.resumes.length, 1);
      assertEquals([run.resumes[0].cause, run.resumes[0].pod], ["deleted", uid]);
      // taken up again on the next pod after the cut, not before
      assert(
        Date.parse(run.resumes[0].resumedAt) >= Date.parse(run.resumes[0].at),
        JSON.stringify(run.resumes),
      );
      const p = await w.sh("rs", `cat "$KODAMA_WORKSPACE/progress"`);
      assertEquals(p.stdout, "step1\nstep2\n");
      const table = await w.k(["agent", "status", "rs"]);
      assertStringIncludes(table.stdout, "succeeded (resumed after deletion)");
      // one notification, the run's end (the cut sent none)
      await waitUntil(() => Promise.resolve(hooks.length > 0), 30_000, "the webhook");
      assertEquals(hooks.length, 1, hooks.join("\n"));
      assertStringIncludes(hooks[0], "succeeded");
    });

    await t.step("kodama stop mid-run: the run is interrupted, and resume does not restart it", async () => {
      assertEquals((await w.sh("rs", `rm -f "$KODAMA_WORKSPACE/progress"`)).code, 0);
      const run = await w.k(["agent", "run", "rs", "--agent", "claude", "--prompt", "again"]);
      assertEquals(run.code, 0, run.stderr);
      await waitUntil(
        async () => (await w.sh("rs", `cat "$KODAMA_WORKSPACE/progress" 2>/dev/null`)).stdout === "step1\n",
        60_000,
        "step 1",
      );
      const pod = await podOf(w, "rs");
      const stopped = (await w.kc(["get", "pod", pod, "-o", "jsonpath={.metadata.uid}"])).stdout;
      assertEquals((await w.k(["stop", "rs"])).code, 0);
      assertEquals((await w.k(["resume", "rs"])).code, 0);
      const st = await w.k(["agent", "status", "rs", "-o", "json"]);
      assertEquals(st.code, 0, st.stderr);
      const last = JSON.parse(st.stdout).items.at(-1);
      assertEquals(last.state, "interrupted");
      assertEquals(last.resumes, undefined);
      const files = await w.sh(
        "rs",
        `r=$HOME/.kodama/runs/2; cat $r/pod; ls $r; cat "$KODAMA_WORKSPACE/progress"`,
      );
      assertStringIncludes(files.stdout, `${stopped}\n`);
      assert(!files.stdout.includes("cut\n"), files.stdout);
      assert(files.stdout.endsWith("step1\n"), files.stdout);
      assertEquals((await w.k(["delete", "rs", "--force", "--purge"])).code, 0);
      await server.shutdown();
    });
  },
);
