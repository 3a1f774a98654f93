/**
 * Sessions on a real cluster's nodes (issue 66.6, 66.7), black-box on the test server, whose node is a GPU
 * node tainted `gpu=true:NoSchedule` and labelled `pool=gpu`, with one `nvidia.com/gpu`:
 * - --dry-run shows the pull secrets, devices, requests, placement, annotations and priority, and the API
 *   server accepts them; a start with them runs, and `session get` shows them;
 * - a start the scheduler cannot place (untolerated taint, a selector no node matches, more GPUs than
 *   the node has) fails at once with exit 1, quoting the scheduler's reason and naming the flag, and keeps
 *   nothing; bad values are exit 2 before any request;
 * - a namespace enforcing Pod Security "restricted": without session.runAsUser the start is refused at
 *   once (exit 4) with the admission's reasons and the setting to use; with it, the session starts.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { parseAllDocuments } from "yaml";
import { kubectl, onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

const GPU_NODE = {
  labels: { pool: "gpu" },
  taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }],
  allocatable: { "nvidia.com/gpu": "1" },
};
const PLACED = ["--node-selector", "pool=gpu", "--toleration", "gpu=true:NoSchedule"];

withSessionWorld(
  "scheduling: pull secrets, GPUs and placement reach the pod; an unplaceable start fails fast",
  {
    node: GPU_NODE,
    ignore: onRealCluster,
    timeoutMs: 300_000,
  },
  async (t, w) => {
    const start = (name: string, more: string[]) =>
      w.k(["start", name, "--image", SESSION_IMAGE, "--no-sync", "--timeout", "2m", ...more]);
    const nothingLeft = async (name: string) => {
      const left = await w.kc(["get", "pods,pvc,secrets", "-l", `kodama.dev/session=${name}`, "-o", "name"]);
      assertEquals(left.stdout.trim(), "", `left behind: ${left.stdout}`);
    };
    await t.step("--dry-run -o yaml: every field, accepted by the API server", async () => {
      const r = await start("dry", [
        ...PLACED,
        "--gpu",
        "1",
        "--resource",
        "example.com/fpga=2",
        "--cpu",
        "2",
        "--cpu-request",
        "1",
        "--memory-request",
        "1Gi",
        "--image-pull-secret",
        "regcred",
        "--annotation",
        "team.example.com/owner=ml",
        "--priority-class",
        "high",
        "--dry-run",
        "-o",
        "yaml",
      ]);
      assertEquals(r.code, 0, r.stderr);
      // the session's Job: its template is the pod (issue 80)
      const pod = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).find((d) => d.kind === "Job")!.spec
        .template;
      assertEquals(pod.spec.imagePullSecrets, [{ name: "regcred" }]);
      assertEquals(pod.spec.nodeSelector, { pool: "gpu" });
      assertEquals(pod.spec.tolerations, [{
        key: "gpu",
        operator: "Equal",
        value: "true",
        effect: "NoSchedule",
      }]);
      assertEquals(pod.spec.priorityClassName, "high");
      assertEquals(pod.metadata.annotations["team.example.com/owner"], "ml");
      assertEquals(pod.spec.containers[0].resources.requests, {
        cpu: "1",
        memory: "1Gi",
        "nvidia.com/gpu": "1",
        "example.com/fpga": "2",
      });
      assertEquals(pod.spec.containers[0].resources.limits["nvidia.com/gpu"], "1");
      // the real kubectl sends it to the API server's validation (dry run: nothing is created)
      const server = await kubectl(w.c, ["-n", "dev", "create", "--dry-run=server", "-f", "-"], {
        context: "dev",
        stdin: parseAllDocuments(r.stdout).filter((d) => (d.toJS() as Obj).kind === "Job").map(String).join(
          "---\n",
        ),
      });
      assertEquals(server.code, 0, server.stderr);
    });

    await t.step("bad values: exit 2, one line, before any request", async () => {
      for (
        const [args, words] of [
          [["--toleration", "gpu=true:Never"], "effect"],
          [["--toleration", "gpu"], "KEY[=VALUE]:EFFECT"],
          [["--gpu", "0"], "--gpu"],
          [["--resource", "fpga=1"], "domain prefix"],
          [["--node-selector", "pool"], "KEY=VALUE"],
          [["--image-pull-secret", "Reg_Cred"], "--image-pull-secret"],
          [["--cpu", "1", "--cpu-request", "2"], "above the CPU limit"],
        ] as [string[], string][]
      ) {
        const r = await start("bad", args);
        assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assertStringIncludes(r.stderr, words);
        assert(!hasStackTrace(r.stderr), r.stderr);
      }
      await nothingLeft("bad");
    });

    await t.step("an untolerated taint: exit 1 at once, the scheduler's words and the flag", async () => {
      const r = await start("taint", ["--gpu", "1", "--node-selector", "pool=gpu"]);
      assertEquals(r.code, 1, r.stderr);
      assertMatch(
        r.stderr,
        /error: session taint did not start: the scheduler cannot place it: 0\/1 nodes are available: 1 node\(s\) had untolerated taint \{gpu: true\} — add --toleration gpu=true:EFFECT/,
      );
      assert(!/timed out/.test(r.stderr), r.stderr);
      await nothingLeft("taint");
    });

    await t.step("a node selector no node matches: exit 1 naming --node-selector", async () => {
      const r = await start("nosel", ["--node-selector", "pool=cpu", "--toleration", "gpu:NoSchedule"]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        "1 node(s) didn't match Pod's node affinity/selector — change --node-selector",
      );
      await nothingLeft("nosel");
    });

    await t.step("more GPUs than the node has: exit 1, Insufficient nvidia.com/gpu", async () => {
      const r = await start("greedy", [...PLACED, "--gpu", "2"]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        "0/1 nodes are available: 1 Insufficient nvidia.com/gpu — no node has a free GPU",
      );
      await nothingLeft("greedy");
    });

    await t.step("a pull secret that is missing (exit 3) or no registry credential (exit 2)", async () => {
      const r = await start("nosecret", [...PLACED, "--image-pull-secret", "regcred"]);
      assertEquals(r.code, 3, r.stderr);
      assertStringIncludes(r.stderr, 'image pull secret "regcred" not found in namespace dev');
      assertStringIncludes(r.stderr, "kubectl create secret docker-registry regcred");
      assert(!hasStackTrace(r.stderr));
      await nothingLeft("nosecret");
      const opaque = await w.kc(["create", "secret", "generic", "plain", "--from-literal=a=b"]);
      assertEquals(opaque.code, 0, opaque.stderr);
      const r2 = await start("opaque", [...PLACED, "--image-pull-secret", "plain"]);
      assertEquals(r2.code, 2, r2.stderr);
      assertStringIncludes(r2.stderr, "is of type Opaque, not a registry credential");
      await nothingLeft("opaque");
      const reg = await w.kc([
        "create",
        "secret",
        "docker-registry",
        "regcred",
        "--docker-server=registry.example.com",
        "--docker-username=ci",
        "--docker-password=not-a-real-password",
      ]);
      assertEquals(reg.code, 0, reg.stderr);
    });

    await t.step(
      "placed as asked: it runs, session get shows it, the event log has the scheduler's",
      async () => {
        try {
          const r = await start("g1", [...PLACED, "--gpu", "1", "--image-pull-secret", "regcred"]);
          assertEquals(r.code, 0, r.stderr);
          const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "g1"), "-o", "json"])).stdout);
          assertEquals(pod.spec.nodeName, "kodama-test-node");
          assertEquals(pod.spec.imagePullSecrets, [{ name: "regcred" }]);
          const g = await w.k(["session", "get", "g1"]);
          assertEquals(g.code, 0, g.stderr);
          assertMatch(g.stdout, /Devices:?\s+nvidia\.com\/gpu=1/);
          assertMatch(g.stdout, /Tolerations:?\s+gpu=true:NoSchedule/);
          assertMatch(g.stdout, /Pull secret:?\s+regcred/);
          // the GPU is taken now: a second session cannot have one
          const r2 = await start("g2", [...PLACED, "--gpu", "1"]);
          assertEquals(r2.code, 1, r2.stderr);
          assertStringIncludes(r2.stderr, "Insufficient nvidia.com/gpu");
          const ev = await kubectl(w.c, [
            "get",
            "events",
            "-n",
            "dev",
            "--field-selector",
            "reason=FailedScheduling",
          ], {
            context: "admin",
          });
          assertStringIncludes(ev.stdout, "Insufficient nvidia.com/gpu");
        } finally {
          await purge(w, "g1");
        }
      },
    );
  },
);

withSessionWorld(
  "pod security: a restricted namespace refuses a root session at once, runs one with runAsUser",
  {
    ignore: onRealCluster,
    timeoutMs: 300_000,
  },
  async (t, w) => {
    const label = await kubectl(w.c, [
      "label",
      "namespace",
      "dev",
      "pod-security.kubernetes.io/enforce=restricted",
    ], {
      context: "admin",
    });
    assertEquals(label.code, 0, label.stderr);
    await t.step("the test server answers as the admission does (kubectl run)", async () => {
      const r = await kubectl(
        w.c,
        ["-n", "dev", "run", "plain", "--image", SESSION_IMAGE, "--restart=Never"],
        {
          context: "dev",
        },
      );
      assertEquals(r.code, 1);
      assertStringIncludes(
        r.stderr,
        'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "plain" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "plain" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "plain" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "plain" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
      );
    });
    await t.step("no runAsUser: exit 4 at once, the reasons and session.runAsUser", async () => {
      const r = await w.k(["start", "root", "--image", SESSION_IMAGE, "--no-sync", "--timeout", "2m"]);
      assertEquals(r.code, 4, r.stderr);
      const err = r.stderr.slice(r.stderr.indexOf("error: "));
      assertMatch(
        err,
        /^error: namespace dev enforces Pod Security restricted: unrestricted capabilities \(container "session" must not include "CHOWN", [^\n]*runAsNonRoot != true \(pod or container "session" must set securityContext.runAsNonRoot=true\)\n {2}set session.runAsUser \(e.g. 1000\)[^\n]*\n$/,
      );
      const left = await w.kc(["get", "pods,pvc", "-l", "kodama.dev/session=root", "-o", "name"]);
      assertEquals(left.stdout.trim(), "", left.stdout);
    });
    await t.step("session.runAsUser: the session starts there", async () => {
      await Deno.writeTextFile(`${w.home}/config.yaml`, "session:\n  runAsUser: 1000\n");
      try {
        const r = await w.k(["start", "user", "--image", SESSION_IMAGE, "--no-sync", "--timeout", "2m"]);
        assertEquals(r.code, 0, r.stderr);
        const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "user"), "-o", "json"])).stdout);
        assertEquals(pod.spec.containers[0].securityContext.runAsNonRoot, true);
      } finally {
        await purge(w, "user");
      }
    });
  },
);
