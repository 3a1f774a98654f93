/**
 * The test server enforces RBAC objects created through the API as kube-apiserver does, proved with the real
 * kubectl (its own requests, `auth can-i` as the user and `--as` impersonation agreeing): Roles and
 * RoleBindings take effect at once and stop with the binding; `resourceNames` limits get and subresources but
 * never list; `pods/exec` is a resource of its own; Group subjects match the user's groups; a user may only
 * grant rules they hold (unless they may `escalate` / `bind`); a binding's roleRef cannot change.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, onRealCluster, startCluster } from "../cluster/harness.ts";

/** writing RBAC objects, without `*` (which would include escalate and bind) */
const WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"];
const ROLE = (name: string, rules: unknown[]) =>
  JSON.stringify({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name, namespace: "dev" },
    rules,
  });
const BINDING = (name: string, role: string, subjects: unknown[], kind = "Role") =>
  JSON.stringify({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: "dev" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects,
  });

Deno.test({
  name: "cluster: RBAC Roles and RoleBindings created through the API",
  ignore: onRealCluster, // it needs a user with no rights of its own (the test server's users)
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster({ seed: "none", users: [{ name: "bob", namespace: "dev", rules: [] }] });
    const k = (args: string[], context = "admin", stdin?: string) => kubectl(c, args, { context, stdin });
    const apply = async (doc: string, context = "admin") => await k(["apply", "-f", "-"], context, doc);
    const canI = async (args: string[], context = "admin") =>
      (await k(["auth", "can-i", ...args, "-n", "dev"], context)).stdout.trim();
    try {
      assertEquals((await k(["create", "namespace", "dev"])).code, 0);
      await t.step("a Role bound to a user: resourceNames limit get and exec, never list", async () => {
        assertEquals(await canI(["get", "pods/p1"], "bob"), "no");
        const r = await apply(ROLE("share-p1", [
          { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["p1"] },
          { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"], resourceNames: ["p1"] },
        ]));
        assertEquals(r.code, 0, r.stderr);
        const b = await apply(BINDING("share-p1", "share-p1", [{ kind: "User", name: "bob" }]));
        assertEquals(b.code, 0, b.stderr);
        for (const ctx of ["bob", "admin"]) {
          const as = ctx === "admin" ? ["--as", "bob"] : [];
          assertEquals(await canI(["get", "pods/p1", ...as], ctx), "yes", `${ctx}: get p1`);
          assertEquals(await canI(["create", "pods/p1", "--subresource=exec", ...as], ctx), "yes");
          assertEquals(await canI(["get", "pods/p2", ...as], ctx), "no", `${ctx}: get p2`);
          assertEquals(await canI(["list", "pods", ...as], ctx), "no", `${ctx}: list`);
          assertEquals(await canI(["watch", "pods", ...as], ctx), "no", `${ctx}: watch`);
          assertEquals(await canI(["create", "pods/p2", "--subresource=exec", ...as], ctx), "no");
          assertEquals(
            await canI(["get", "pods/p1", "--subresource=log", ...as], ctx),
            "no",
            "log is its own",
          );
          assertEquals(await canI(["delete", "pods/p1", ...as], ctx), "no");
        }
        // the server's own answers: allowed but missing is 404, outside the names 403
        const got = await k(["get", "pod", "p1", "-n", "dev"], "bob");
        assertStringIncludes(got.stderr, `pods "p1" not found`);
        const other = await k(["get", "pod", "p2", "-n", "dev"], "bob");
        assertStringIncludes(other.stderr, `pods "p2" is forbidden: User "bob" cannot get resource "pods"`);
        const list = await k(["get", "pods", "-n", "dev"], "bob");
        assertStringIncludes(list.stderr, `User "bob" cannot list resource "pods"`);
      });

      await t.step("a Group subject matches the user's groups", async () => {
        const b = await apply(BINDING("team", "share-p1", [{ kind: "Group", name: "team-a" }]));
        assertEquals(b.code, 0, b.stderr);
        assertEquals(await canI(["get", "pods/p1", "--as", "carol", "--as-group", "team-a"]), "yes");
        assertEquals(await canI(["get", "pods/p1", "--as", "carol", "--as-group", "team-b"]), "no");
        assertEquals(await canI(["get", "pods/p1", "--as", "carol"]), "no");
      });

      await t.step("a ServiceAccount subject matches that account's user", async () => {
        const b = await apply(BINDING("robot", "share-p1", [{ kind: "ServiceAccount", name: "robot" }]));
        assertEquals(b.code, 0, b.stderr);
        assertEquals(await canI(["get", "pods/p1", "--as", "system:serviceaccount:dev:robot"]), "yes");
        assertEquals(await canI(["get", "pods/p1", "--as", "system:serviceaccount:prod:robot"]), "no");
      });

      await t.step("escalation: only rules the writer holds, unless escalate/bind", async () => {
        // bob may write Roles and RoleBindings in dev, and holds get on pod p1 only ("*" would be escalate too)
        let r = await apply(ROLE("rbac-writer", [
          { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: WRITE },
          { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["p1"] },
        ]));
        assertEquals(r.code, 0, r.stderr);
        r = await apply(ROLE("exec-all", [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }]));
        assertEquals(r.code, 0, r.stderr);
        r = await apply(BINDING("rbac-writer", "rbac-writer", [{ kind: "User", name: "bob" }]));
        assertEquals(r.code, 0, r.stderr);
        const wide = await apply(
          ROLE("wide", [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }]),
          "bob",
        );
        assertEquals(wide.code, 1);
        assertStringIncludes(
          wide.stderr,
          `roles.rbac.authorization.k8s.io "wide" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`,
        );
        assertStringIncludes(wide.stderr, `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`);
        const narrow = await apply(
          ROLE("narrow", [{ apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["p1"] }]),
          "bob",
        );
        assertEquals(narrow.code, 0, narrow.stderr);
        // binding a role whose rules bob lacks: refused; one he holds: allowed
        const sneaky = await apply(BINDING("sneaky", "exec-all", [{ kind: "User", name: "bob" }]), "bob");
        assertStringIncludes(sneaky.stderr, `rolebindings.rbac.authorization.k8s.io "sneaky" is forbidden`);
        assertStringIncludes(
          sneaky.stderr,
          `{APIGroups:[""], Resources:["pods/exec"], Verbs:["create"]}`,
        );
        const fine = await apply(BINDING("fine", "narrow", [{ kind: "User", name: "dave" }]), "bob");
        assertEquals(fine.code, 0, fine.stderr);
        assertEquals(await canI(["get", "pods/p1", "--as", "dave"]), "yes");
        // a missing role cannot be bound by a user without bind
        const missing = await apply(
          BINDING("ghost", "no-such-role", [{ kind: "User", name: "dave" }]),
          "bob",
        );
        assertStringIncludes(missing.stderr, `roles.rbac.authorization.k8s.io "no-such-role" not found`);
        // with bind on the role, the binding needs no held rules
        r = await apply(ROLE("rbac-writer", [
          { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: WRITE },
          { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["p1"] },
          {
            apiGroups: ["rbac.authorization.k8s.io"],
            resources: ["roles"],
            verbs: ["bind"],
            resourceNames: ["exec-all"],
          },
        ]));
        assertEquals(r.code, 0, r.stderr);
        const bound = await apply(BINDING("sneaky", "exec-all", [{ kind: "User", name: "erin" }]), "bob");
        assertEquals(bound.code, 0, bound.stderr);
      });

      await t.step("a binding's roleRef cannot change; deleting it revokes at once", async () => {
        const changed = await apply(BINDING("share-p1", "narrow", [{ kind: "User", name: "bob" }]));
        assertEquals(changed.code, 1);
        assertStringIncludes(changed.stderr, "cannot change roleRef");
        assertEquals(await canI(["create", "pods/p1", "--subresource=exec"], "bob"), "yes");
        const d = await k(["delete", "rolebinding", "share-p1", "-n", "dev"]);
        assertEquals(d.code, 0, d.stderr);
        assertEquals(await canI(["create", "pods/p1", "--subresource=exec"], "bob"), "no");
      });
    } finally {
      await c.stop();
    }
  },
});
