/**
 * Issue 80, black-box: a snapshot's copy pod is a Job's, so a copy pod that goes mid-copy (here a plain
 * `kubectl delete pod` while the snapshot streams to a local file, what a lost node amounts to) does not
 * fail the snapshot nor leave half of it: kodama says so in one line and starts the copy over in the Job's
 * next pod, and the file it writes is the whole snapshot. The Job is gone afterwards.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { needsTestServer, waitUntil } from "../cluster/harness.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const S = "cjob-a";

withSessionWorld(
  "copy job: a snapshot whose copy pod is deleted mid-copy starts over in the Job's next pod and is whole",
  { timeoutMs: 600_000 },
  async (t, w) => {
    if (!needsTestServer(w.c)) return;
    const file = join(w.home, "snap.tar");
    try {
      let sum = "";
      await t.step("a session with a big file (the copy takes a while) and a small one", async () => {
        const r = await w.k(["start", S, "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        const s = await w.sh(
          S,
          "head -c 100000000 /dev/urandom > big.bin && echo one > a.txt && sha256sum big.bin | cut -d' ' -f1",
        );
        assertEquals(s.code, 0, s.stderr);
        sum = s.stdout.trim();
        assert(/^[0-9a-f]{64}$/.test(sum), s.stdout);
      });

      await t.step("snapshot --to-file, its copy pod deleted mid-copy: a whole file", async () => {
        const p = w.spawn(["snapshot", "create", S, "--to-file", file]);
        const partial = `${file}.kodama-partial`;
        // the copy is streaming: hold kodama (so the copy cannot finish), then take its pod away
        await waitUntil(
          async () => ((await Deno.stat(partial).catch(() => undefined))?.size ?? 0) > 0,
          240_000,
          "the snapshot streaming",
        );
        Deno.kill(p.pid, "SIGSTOP");
        let cut = "";
        try {
          const pods = JSON.parse(
            (await w.kc(["get", "pods", "-l", `kodama.dev/copy-of=${S}`, "-o", "json"])).stdout,
          ).items;
          assertEquals(pods.length, 1);
          cut = pods[0].metadata.name;
          // the copy pod is a Job's (named as the bare pod was, with the Job's suffix)
          assert(pods[0].metadata.labels["job-name"]?.startsWith(`kodama-copy-${S}-`), cut);
          assertEquals((await w.kc(["delete", "pod", cut, "--wait=true", "--timeout=60s"])).code, 0);
        } finally {
          Deno.kill(p.pid, "SIGCONT");
        }
        const r = await p.output();
        const stderr = new TextDecoder().decode(r.stderr);
        assertEquals(r.code, 0, stderr);
        assertStringIncludes(stderr, `copy pod ${cut} went away: starting over in the next pod of job`);
        assertStringIncludes(new TextDecoder().decode(r.stdout), `snapshot of ${S} written to`);
        // the whole snapshot, once: the big file as it is in the workspace, the small one
        const dir = await Deno.makeTempDir();
        try {
          const x = await new Deno.Command("tar", { args: ["-xf", file, "-C", dir] }).output();
          assert(x.success, new TextDecoder().decode(x.stderr));
          const got = await new Deno.Command("sha256sum", {
            args: [join(dir, "workspace", "big.bin")],
            stdout: "piped",
          })
            .output();
          assertEquals(new TextDecoder().decode(got.stdout).split(" ")[0], sum);
          assertEquals(await Deno.readTextFile(join(dir, "workspace", "a.txt")), "one\n");
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
        // the Job and its pods are gone
        const left = await w.kc(["get", "jobs,pods", "-l", `kodama.dev/copy-of=${S}`, "-o", "name"]);
        assertEquals(left.stdout.trim(), "", left.stderr);
      });
    } finally {
      await purge(w, S);
      await Deno.remove(file).catch(() => {});
    }
  },
);
