/**
 * kodama share / unshare (#30): a teammate with only the generated Role — no list rights, no session file —
 * attaches with --command and execs, cannot delete the session (exit 4, nothing deleted) nor reach another
 * session; --read-only leaves logs only; unshare ends it; delete removes the share objects.
 *
 * On the test server the owner is `alice`, bound to examples/rbac.yaml's Role (so the RBAC escalation check
 * proves the example lets its user share), and the teammate `bob` has no rights of his own. On a real cluster
 * the owner is `dev` and the teammate a ServiceAccount made for the run, with a token from TokenRequest.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { parse, stringify } from "yaml";
import { kubectl, onRealCluster, startCluster, type TestCluster, waitUntil } from "../cluster/harness.ts";
import type { PolicyRule } from "../cluster/auth.ts";
import { podOf, purge, SESSION_IMAGE, sessionWorld } from "./_session.ts";
import { TIMEOUT } from "../_timeout.ts";

async function exampleRules(): Promise<PolicyRule[]> {
  const text = await Deno.readTextFile(new URL("../../examples/rbac.yaml", import.meta.url));
  return text.split(/^---$/m).map((d) => parse(d)).find((d) => d?.kind === "Role").rules;
}

/** On a real cluster: a ServiceAccount in dev and a kubeconfig whose context `mate` uses its token. */
async function realMate(
  c: TestCluster,
  sa: string,
): Promise<{ c: TestCluster; cleanup: () => Promise<void> }> {
  const made = await kubectl(c, ["create", "serviceaccount", sa, "-n", "dev"]);
  assertEquals(made.code, 0, made.stderr);
  const tok = await kubectl(c, ["create", "token", sa, "-n", "dev", "--duration", "1h"]);
  assertEquals(tok.code, 0, tok.stderr);
  // deno-lint-ignore no-explicit-any
  const kc: any = parse(await Deno.readTextFile(c.kubeconfig));
  const cluster = kc.contexts.find((x: { name: string }) => x.name === kc["current-context"]).context.cluster;
  kc.users.push({ name: "mate", user: { token: tok.stdout.trim() } });
  kc.contexts.push({ name: "mate", context: { cluster, user: "mate", namespace: "dev" } });
  const dir = await Deno.makeTempDir({ prefix: "kodama-mate-" });
  const path = `${dir}/kubeconfig`;
  await Deno.writeTextFile(path, stringify(kc), { mode: 0o600 });
  return {
    c: { ...c, kubeconfig: path },
    cleanup: async () => {
      await kubectl(c, ["delete", "serviceaccount", sa, "-n", "dev", "--ignore-not-found"]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test({
  name: "share: a teammate with only the share's Role attaches, cannot delete, cannot reach another session",
  sanitizeResources: false,
  sanitizeOps: false,
  ...{ [TIMEOUT]: 600_000 },
  async fn(t) {
    const c = await startCluster({
      seed: "sessions",
      users: [
        { name: "alice", namespace: "dev", rules: await exampleRules() },
        { name: "bob", namespace: "dev", rules: [] },
        // the example Role without attach and port-forward: may share read-only only
        {
          name: "carol",
          namespace: "dev",
          rules: (await exampleRules()).filter((r) => !r.resources.includes("pods/attach")),
        },
      ],
    });
    const tag = crypto.randomUUID().slice(0, 6);
    const sa = `share-mate-${tag}`;
    const owner = await sessionWorld(c, onRealCluster ? "dev" : "alice");
    const real = onRealCluster ? await realMate(c, sa) : undefined;
    const mate = await sessionWorld(real?.c ?? c, onRealCluster ? "mate" : "bob");
    const subject = onRealCluster ? ["--serviceaccount", `dev:${sa}`] : ["--user", "bob"];
    const a = `shr-${tag}-a`, b = `shr-${tag}-b`;
    const ok = async (w: typeof owner, args: string[]) => {
      const r = await w.k(args);
      assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };
    const refused = async (w: typeof owner, args: string[], code: number, text: string) => {
      const r = await w.k(args);
      assertEquals(r.code, code, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assertStringIncludes(r.stderr, text);
      assert(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      return r;
    };
    try {
      await Deno.writeTextFile(`${owner.cwd}/.env`, "SECRET_TOKEN=s3cr3t\n");
      await t.step("the owner starts two sessions", async () => {
        await Promise.all([
          ok(owner, ["start", a, "--image", SESSION_IMAGE, "--env-file", ".env", "--no-sync"]),
          ok(owner, ["start", b, "--image", SESSION_IMAGE, "--no-sync"]),
        ]);
      });

      await t.step("bad input: one line, exit 2 or 3, nothing made", async () => {
        await refused(
          owner,
          ["share", a, "--user", "x", "--group", "y"],
          2,
          "--user and --group cannot be used together",
        );
        await refused(owner, ["share", `${a}-nope`, "--user", "x"], 3, `session "${a}-nope" not found`);
        await refused(owner, ["unshare", a], 2, "unshare needs a subject");
        await refused(
          owner,
          ["unshare", a, "--user", "nobody"],
          3,
          `session ${a} is not shared with user nobody`,
        );
        await refused(owner, ["share", a, "--serviceaccount", "nocolon"], 2, "expected NAMESPACE:NAME");
        const none = await ok(owner, ["share", a, "-o", "json"]);
        assertEquals(JSON.parse(none.stdout), []);
      });

      await t.step({
        name: "only rights one holds can be shared (the API server's escalation check), in one line",
        ignore: onRealCluster, // it needs a third user
        fn: async () => {
          const carol = await sessionWorld(c, "carol");
          try {
            const r = await refused(
              carol,
              ["share", a, "--user", "dave"],
              4,
              "you can only share rights you hold",
            );
            assertStringIncludes(r.stderr, "pods/attach");
            assertEquals(r.stderr.trim().split("\n").length, 2, r.stderr); // the error and its hint
            await ok(carol, ["share", a, "--user", "dave", "--read-only"]);
            await ok(carol, ["unshare", a, "--user", "dave"]);
          } finally {
            await carol.cleanup();
          }
        },
      });

      await t.step("before the share the teammate reaches nothing", async () => {
        await refused(mate, ["attach", a, "-n", "dev", "--command", "true"], 4, `cannot reach session ${a}`);
      });

      await t.step("share: a Role limited by name, listed by share", async () => {
        const r = await ok(owner, ["share", a, ...subject]);
        assertStringIncludes(r.stdout, `session/${a} shared with`);
        const list = JSON.parse((await ok(owner, ["share", a, "-o", "json"])).stdout);
        assertEquals(list.length, 1);
        assertEquals(list[0].access, "full");
        assertEquals(list[0].subject.kind, onRealCluster ? "ServiceAccount" : "User");
        const role = JSON.parse((await owner.kc(["get", "role", list[0].role, "-o", "json"])).stdout);
        for (const rule of role.rules) assert(rule.resourceNames?.length, `every rule names its objects`);
        assert(!JSON.stringify(role.rules).includes("secrets"), "no Secret is granted");
        assertStringIncludes((await ok(owner, ["share", a])).stdout, "full");
      });

      await t.step("the teammate attaches and execs with GETs only (no list, no session file)", async () => {
        const r = await ok(mate, ["attach", a, "-n", "dev", "--command", "echo hello from $HOSTNAME"]);
        assertEquals(r.stdout, `hello from ${await podOf(owner, a)}\n`);
        const e = await ok(mate, [
          "exec",
          await podOf(owner, a),
          "-n",
          "dev",
          "--",
          "sh",
          "-c",
          "echo exec-ok",
        ]);
        assertStringIncludes(e.stdout, "exec-ok");
        const g = await ok(mate, ["session", "get", a, "-n", "dev"]);
        assertStringIncludes(g.stdout, "Running");
        // kubectl agrees it cannot list
        const l = await mate.kc(["get", "pods"]);
        assertEquals(l.code, 1);
      });

      await t.step({
        name:
          "the cluster replaces the pod: the teammate is told in one line; the owner's next command renews",
        ignore: onRealCluster, // a real cluster's replacement takes its image pull; covered by the test server
        fn: async () => {
          const old = await podOf(owner, a);
          assertEquals((await owner.kc(["delete", "pod", old, "--wait=true"])).code, 0);
          // the Job makes a new pod (another name) on the same volumes
          await waitUntil(
            async () => {
              const p = await podOf(owner, a);
              return p !== "" && p !== old &&
                (await owner.kc(["get", "pod", p, "-o", "jsonpath={.status.phase}"])).stdout === "Running";
            },
            120_000,
            "the replacement pod",
          );
          const fresh = await podOf(owner, a);
          // the teammate's share still names the old pod: one line saying so and how it is renewed
          const r = await refused(
            mate,
            ["attach", a, "-n", "dev", "--command", "true"],
            4,
            "its pod was replaced",
          );
          assertStringIncludes(r.stderr, `kodama share ${a}`);
          // a second spelling: session get says the same
          await refused(mate, ["session", "get", a, "-n", "dev"], 4, "its pod was replaced");
          // the owner's list renews the share to the new pod; the teammate is back, on it
          await ok(owner, ["list"]);
          await waitUntil(
            async () => (await mate.k(["attach", a, "-n", "dev", "--command", "true"])).code === 0,
            60_000,
            "the renewed share",
          );
          const again = await ok(mate, ["attach", a, "-n", "dev", "--command", "echo on $HOSTNAME"]);
          assertEquals(again.stdout, `on ${fresh}\n`);
          // the old pod's name grants nothing new: the Role names the fresh pod only
          const list = JSON.parse((await ok(owner, ["share", a, "-o", "json"])).stdout);
          const role = JSON.parse((await owner.kc(["get", "role", list[0].role, "-o", "json"])).stdout);
          const names = role.rules.filter((x: { resources: string[] }) =>
            x.resources.some((y) => y.startsWith("pods"))
          )
            .flatMap((x: { resourceNames: string[] }) => x.resourceNames);
          assertEquals([...new Set(names)], [fresh]);
        },
      });

      await t.step("the teammate cannot delete or stop it: exit 4, nothing deleted", async () => {
        const r = await refused(mate, ["delete", a, "-n", "dev", "--force"], 4, `cannot delete session ${a}`);
        assertStringIncludes(r.stderr, "nothing was deleted");
        await refused(mate, ["delete", a, "-n", "dev", "--force", "--purge"], 4, "nothing was deleted");
        await refused(mate, ["stop", a, "-n", "dev"], 4, "forbidden");
        for (
          const obj of [
            `job/kodama-${a}`,
            `pod/${await podOf(owner, a)}`,
            `secret/kodama-env-${a}`,
            `pvc/kodama-workspace-${a}`,
          ]
        ) {
          const got = await owner.kc(["get", obj, "-o", "json"]);
          assertEquals(got.code, 0, `${obj} is still there: ${got.stderr}`);
          const o = JSON.parse(got.stdout);
          assertEquals(o.metadata.deletionTimestamp, undefined, `${obj} is not being deleted`);
          assertEquals(o.metadata.labels?.["kodama.dev/retained"], undefined, `${obj} not marked kept`);
        }
        assertStringIncludes((await ok(owner, ["list"])).stdout, a);
      });

      await t.step("the teammate cannot reach another session (exit 4)", async () => {
        await refused(mate, ["attach", b, "-n", "dev", "--command", "true"], 4, `cannot reach session ${b}`);
        const r = await mate.k(["exec", await podOf(owner, b), "-n", "dev", "--", "true"]);
        assertEquals(r.code, 4, r.stderr);
        await refused(mate, ["delete", b, "-n", "dev", "--force"], 4, "forbidden");
        assertEquals((await owner.kc(["get", `job/kodama-${b}`])).code, 0);
      });

      await t.step("--read-only: logs, no attach", async () => {
        const r = await ok(owner, ["share", a, ...subject, "--read-only"]);
        assertStringIncludes(r.stdout, "(updated)");
        const list = JSON.parse((await ok(owner, ["share", a, "-o", "json"])).stdout);
        assertEquals(list.map((s: { access: string }) => s.access), ["read-only"]);
        await refused(mate, ["attach", a, "-n", "dev", "--command", "true"], 4, "forbidden");
        await ok(mate, ["logs", await podOf(owner, a), "-n", "dev"]);
      });

      await t.step("unshare: the teammate's access ends", async () => {
        const r = await ok(owner, ["unshare", a, ...subject]);
        assertMatch(r.stdout, new RegExp(`session/${a} unshared from`));
        await refused(mate, ["session", "get", a, "-n", "dev"], 4, `cannot reach session ${a}`);
        assertEquals(JSON.parse((await ok(owner, ["share", a, "-o", "json"])).stdout), []);
      });

      await t.step("delete removes the session's share objects", async () => {
        await ok(owner, ["share", a, ...subject]);
        await ok(owner, ["share", a, "--group", "reviewers", "--read-only"]);
        const sel = `kodama.dev/session=${a}`;
        assertEquals(
          JSON.parse((await owner.kc(["get", "roles,rolebindings", "-l", sel, "-o", "json"])).stdout).items
            .length,
          4,
        );
        const d = await ok(owner, ["delete", a, "--force", "--purge"]);
        assertStringIncludes(d.stderr, "rolebinding/kodama-share-");
        assertEquals(
          JSON.parse((await owner.kc(["get", "roles,rolebindings", "-l", sel, "-o", "json"])).stdout).items,
          [],
        );
      });
    } finally {
      await purge(owner, a);
      await purge(owner, b);
      await owner.cleanup();
      await mate.cleanup();
      await real?.cleanup();
      await c.stop();
    }
  },
});
