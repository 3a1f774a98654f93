/**
 * examples/rbac.yaml is enough for every session command: the test server binds its Role's rules to a
 * user in namespace dev (and nothing else), and the whole lifecycle runs as that user. Without one of
 * its rules the matching command is refused (exit 4), so the check can fail.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { parse } from "yaml";
import { kubectl, onRealCluster, startCluster } from "../cluster/harness.ts";
import type { PolicyRule } from "../cluster/auth.ts";
import { makeTestRepo } from "./_git_server.ts";
import { podOf, purge, SESSION_IMAGE, sessionWorld } from "./_session.ts";

const EXAMPLE = new URL("../../examples/rbac.yaml", import.meta.url);

async function roleRules(): Promise<PolicyRule[]> {
  const docs = (await Deno.readTextFile(EXAMPLE)).split(/^---$/m).map((d) => parse(d));
  const role = docs.find((d) => d?.kind === "Role");
  const binding = docs.find((d) => d?.kind === "RoleBinding");
  assertEquals(binding.roleRef.name, role.metadata.name);
  return role.rules;
}

Deno.test({
  name: "examples/rbac.yaml: its Role is enough for start, list, get, attach, stop, resume, delete, prune",
  ignore: onRealCluster,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const rules = await roleRules();
    const c = await startCluster({ seed: "sessions", users: [{ name: "alice", namespace: "dev", rules }] });
    const w = await sessionWorld(c, "alice");
    const ok = async (args: string[]) => {
      const r = await w.k(args);
      assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };
    try {
      await t.step("kubectl auth can-i agrees: the Role's verbs, and nothing more", async () => {
        const can = (verb: string, res: string) =>
          kubectl(c, ["auth", "can-i", verb, res, "-n", "dev"], { context: "alice" });
        for (
          const [verb, res] of [["create", "pods"], ["create", "pods/exec"], [
            "patch",
            "persistentvolumeclaims",
          ], ["list", "events"]]
        ) {
          assertEquals((await can(verb, res)).stdout.trim(), "yes", `${verb} ${res}`);
        }
        for (const [verb, res] of [["list", "secrets"], ["create", "deployments"], ["delete", "events"]]) {
          assertEquals((await can(verb, res)).stdout.trim(), "no", `${verb} ${res}`);
        }
      });

      await t.step("the lifecycle runs with those rules only", async () => {
        await Deno.writeTextFile(`${w.cwd}/.env`, "A=1\n");
        await ok(["start", "r", "--image", SESSION_IMAGE, "--env-file", ".env"]);
        assertStringIncludes((await ok(["list"])).stdout, "Running");
        assertStringIncludes((await ok(["session", "get", "r"])).stdout, "kodama-env-r");
        assertEquals((await ok(["attach", "r", "--command", "echo $A"])).stdout, "1\n");
        await ok(["stop", "r"]);
        await ok(["resume", "r"]);
        await ok(["delete", "r", "--force"]);
        assertStringIncludes((await ok(["start", "r", "--image", SESSION_IMAGE])).stderr, "reusing volume");
        await ok(["delete", "r", "--force", "--purge"]);
        await ok(["session", "prune"]);
      });

      await t.step(
        "start --repo, agent runs and session fetch with those rules",
        async () => {
          const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
          try {
            const r = await ok([
              "start",
              "g",
              "--repo",
              repo.bare,
              "--branch",
              "feature",
              "--image",
              SESSION_IMAGE,
            ]);
            assertStringIncludes(
              r.stderr,
              `cloned ${repo.bare}: branch feature at ${repo.feature.slice(0, 12)}`,
            );
            assertStringIncludes((await ok(["list"])).stdout, "feature");
            // agent runs and session fetch need nothing beyond the Role (pods/exec)
            await Deno.writeTextFile(
              `${w.cwd}/.kodama.yaml`,
              `agent:\n  command: [sh, -c, "cat > /dev/null; echo agent-was-here > a.txt; git add a.txt; git -c user.name=A -c user.email=a@x commit -qm agent; echo done"]\n`,
            );
            assertEquals(
              (await ok(["agent", "run", "g", "--agent", "custom", "--prompt", "go"])).stdout,
              "1\n",
            );
            assertStringIncludes((await ok(["agent", "logs", "g", "-f"])).stdout, "done");
            assertStringIncludes((await ok(["agent", "status", "g"])).stdout, "succeeded");
            const f = await w.k(["session", "fetch", "g"], { cwd: repo.work });
            assertEquals(f.code, 0, f.stderr);
            assertStringIncludes((await ok(["session", "fetch", "g", "--diff"])).stdout, "+agent-was-here");
            const bad = await w.k([
              "start",
              "gbad",
              "--repo",
              `${repo.dir}/nope.git`,
              "--image",
              SESSION_IMAGE,
            ]);
            // a local repository path that does not exist is refused here, before anything is created
            assertEquals(bad.code, 2, bad.stderr);
            assertStringIncludes(bad.stderr, "no such directory");
            assertEquals((await w.k(["session", "get", "gbad"])).code, 3);
            await ok(["delete", "g", "--force", "--purge"]);
          } finally {
            await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
          }
        },
      );

      await t.step("without its PVC patch rule, keeping volumes on delete is refused (exit 4)", async () => {
        const c2 = await startCluster({
          seed: "sessions",
          users: [{
            name: "alice",
            namespace: "dev",
            rules: rules.map((r) =>
              r.resources.includes("persistentvolumeclaims")
                ? { ...r, verbs: r.verbs.filter((v) => v !== "patch") }
                : r
            ),
          }],
        });
        const w2 = await sessionWorld(c2, "alice");
        try {
          const started = await w2.k(["start", "r2", "--image", SESSION_IMAGE]);
          assertEquals(started.code, 0, started.stderr);
          const d = await w2.k(["delete", "r2", "--force"]);
          assertEquals(d.code, 4, d.stderr);
          // asked before anything goes (SelfSubjectAccessReview), naming the refused object
          assertStringIncludes(
            d.stderr,
            "forbidden: cannot delete session r2: you may not patch persistentvolumeclaims",
          );
          assertStringIncludes(d.stderr, "(nothing was deleted)");
          // refused before anything was removed
          const r2 = await podOf(w2, "r2");
          assert(r2.startsWith("kodama-r2-"), r2);
          assertEquals((await w2.kc(["get", "pod", r2, "-o", "name"])).stdout.trim(), `pod/${r2}`);
        } finally {
          await w2.cleanup();
          await c2.stop();
        }
      });
    } finally {
      await purge(w, "r");
      await w.cleanup();
      await c.stop();
    }
  },
});
