/**
 * Sessions end to end, black-box, as the restricted `dev` user in namespace `dev`: start with an env
 * file, attach, stop/resume keeping a file, list from a second machine, delete keeping and purging the
 * volumes, and a second start reusing kept volumes.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const SECRET = "s3cr3t-value-4711";
const b64 = (s: string) => btoa(s);

withSessionWorld(
  "sessions: start with an env file, attach, stop/resume keeps files, list from another machine, delete",
  {},
  async (t, w) => {
    const other = await Deno.makeTempDir({ prefix: "kodama-home2-" });
    const listElsewhere = async () => {
      const r = await w.k(["list", "-o", "json"], { home: other });
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).items as { metadata: { name: string }; status: { phase: string } }[];
    };
    try {
      await Deno.writeTextFile(`${w.cwd}/.env`, `FOO=bar\nSECRET_TOKEN=${SECRET}\nPATH=/evil\n# comment\n`);

      await t.step(
        "start --env-file: ready, and the PATH line is dropped with a warning naming it",
        async () => {
          const r = await w.k([
            "start",
            "demo",
            "--env-file",
            ".env",
            "--image",
            SESSION_IMAGE,
            "--cpu",
            "0.5",
          ]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "session/demo ready\n");
          assertMatch(r.stderr, /warning: \.env: PATH is not injected/);
          for (const phase of ["objects created", "volumes bound", "scheduled", "image pulled", "ready"]) {
            assertStringIncludes(r.stderr, phase);
          }
          assert(!r.stderr.includes(SECRET));
        },
      );

      await t.step("attach --command env shows the variables; PATH is the image's", async () => {
        const r = await w.k(["attach", "demo", "--command", "env"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "FOO=bar\n");
        assertStringIncludes(r.stdout, `SECRET_TOKEN=${SECRET}\n`);
        assert(!/^PATH=\/evil$/m.test(r.stdout), r.stdout);
        assertMatch(r.stdout, /^PATH=/m);
      });

      await t.step(
        "the secret value is in the env Secret only, never in the state file or other objects",
        async () => {
          const secrets = await w.kc(["get", "secret", "-o", "yaml"]);
          assertEquals(secrets.code, 0, secrets.stderr);
          assertStringIncludes(secrets.stdout, b64(SECRET));
          const env = await w.kc(["get", "secret", "kodama-env-demo", "-o", "jsonpath={.data.SECRET_TOKEN}"]);
          assertEquals(env.stdout, b64(SECRET));
          const rest = await w.kc(["get", "pod,pvc,configmap", "-o", "yaml"]);
          assert(!rest.stdout.includes(SECRET) && !rest.stdout.includes(b64(SECRET)));
          const state = await Deno.readTextFile(`${w.home}/sessions/demo.yaml`);
          assert(!state.includes(SECRET) && !state.includes(b64(SECRET)), state);
          assertStringIncludes(state, "SECRET_TOKEN"); // the name is recorded, not the value
          assertEquals((await Deno.stat(`${w.home}/sessions/demo.yaml`)).mode! & 0o777, 0o600);
        },
      );

      await t.step("the pod: fractional CPU as millicores, fsGroup, workingDir, envFrom", async () => {
        // the session's pod belongs to its Job kodama-demo, and is found by the session's label (issue 80)
        const r = await w.kc(["get", "pods", "-l", "kodama.dev/session=demo", "-o", "json"]);
        const pods = JSON.parse(r.stdout).items;
        assertEquals(pods.length, 1);
        const pod = pods[0];
        assertEquals(pod.metadata.ownerReferences[0].kind, "Job");
        assertEquals(pod.metadata.ownerReferences[0].name, "kodama-demo");
        assertMatch(pod.metadata.name, /^kodama-demo-[a-z0-9]{5}$/);
        const job = JSON.parse((await w.kc(["get", "job", "kodama-demo", "-o", "json"])).stdout);
        // as the API server keeps them: podFailurePolicy from 1.26, podReplacementPolicy from 1.29 (docs/sessions.md,
        // "Older clusters"; the real v1.24 cluster drops both)
        const minor = Number(
          JSON.parse((await w.kc(["version", "-o", "json"])).stdout).serverVersion.minor.replace(/\D+$/, ""),
        );
        assertEquals(job.spec.podReplacementPolicy, minor >= 29 ? "Failed" : undefined);
        assertEquals(job.spec.podFailurePolicy?.rules[0].action, minor >= 26 ? "Ignore" : undefined);
        const ctr = pod.spec.containers[0];
        assertEquals(ctr.resources.limits.cpu, "500m");
        assertEquals(ctr.resources.requests.cpu, "125m");
        assertEquals(pod.spec.securityContext.fsGroup, 1000);
        assertEquals(ctr.workingDir, "/workspace");
        assertEquals(ctr.envFrom[0].secretRef.name, "kodama-env-demo");
        assertEquals(pod.metadata.labels["kodama.dev/session"], "demo");
      });

      await t.step("list -o json from a second KODAMA_HOME: Running", async () => {
        const items = await listElsewhere();
        assertEquals(items.map((i) => `${i.metadata.name}:${i.status.phase}`), ["demo:Running"]);
      });

      await t.step("a file written in the workspace survives stop and resume", async () => {
        const w1 = await w.k(["attach", "demo", "--command", "sh -c 'echo keep > /workspace/keep.txt'"]);
        assertEquals(w1.code, 0, w1.stderr);
        const stop = await w.k(["stop", "demo"]);
        assertEquals(stop.code, 0, stop.stderr);
        assertStringIncludes(stop.stderr, "kodama-workspace-demo");
        assertEquals((await listElsewhere()).map((i) => i.status.phase), ["Stopped"]);
        // stopped: the Job and its pod are gone
        assertEquals((await w.kc(["get", "job", "kodama-demo"])).code, 1);
        const gone = await w.kc(["get", "pods", "-l", "kodama.dev/session=demo", "-o", "name"]);
        assertEquals(gone.stdout.trim(), "");
        const resume = await w.k(["resume", "demo"]);
        assertEquals(resume.code, 0, resume.stderr);
        const read = await w.k(["attach", "demo", "--command", "cat /workspace/keep.txt"]);
        assertEquals(read.stdout, "keep\n");
        assertEquals((await listElsewhere()).map((i) => i.status.phase), ["Running"]);
      });

      await t.step("attach --command returns the command's exit code", async () => {
        const r = await w.k(["attach", "demo", "--command", "exit 7"]);
        assertEquals(r.code, 7);
      });

      await t.step("delete without a terminal and without --force: exit 2 naming --force", async () => {
        const r = await w.k(["delete", "demo"]);
        assertEquals(r.code, 2);
        assertStringIncludes(r.stderr, "--force");
        assert(!hasStackTrace(r.stderr));
        assertEquals((await w.kc(["get", "job", "kodama-demo"])).code, 0);
      });

      await t.step("delete --force keeps the PVCs and says so", async () => {
        const r = await w.k(["delete", "demo", "--force"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /kept PVCs .*kodama-workspace-demo/);
        assertStringIncludes(r.stderr, "--purge");
        const pvcs = await w.kc(["get", "pvc", "-o", "name"]);
        assertEquals(pvcs.stdout.trim().split("\n").sort(), [
          "persistentvolumeclaim/kodama-claude-home-demo",
          "persistentvolumeclaim/kodama-workspace-demo",
        ]);
        assertEquals((await w.kc(["get", "secret", "kodama-env-demo"])).code, 1);
        assertEquals((await listElsewhere()).length, 0);
        await assertGone(`${w.home}/sessions/demo.yaml`);
      });

      await t.step("a new start of the same name reuses the kept volumes", async () => {
        const r = await w.k(["start", "demo", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "reusing volume kodama-workspace-demo");
        const read = await w.k(["attach", "demo", "--command", "cat /workspace/keep.txt"]);
        assertEquals(read.stdout, "keep\n");
      });

      await t.step("delete --purge --force removes the PVCs too", async () => {
        const r = await w.k(["delete", "demo", "--purge", "--force"]);
        assertEquals(r.code, 0, r.stderr);
        const pvcs = await w.kc(["get", "pvc", "-o", "name"]);
        assertEquals(pvcs.stdout.trim(), "");
        const again = await w.k(["delete", "demo", "--force"]);
        assertEquals(again.code, 3);
        assertStringIncludes(again.stderr, 'session "demo" not found in namespace dev');
      });
    } finally {
      await purge(w, "demo");
      await Deno.remove(other, { recursive: true }).catch(() => {});
    }
  },
);

async function assertGone(path: string) {
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  throw new Error(`${path} still exists`);
}
