import { assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { isUnreachable, rootCause, toKodamaError } from "../../../src/kube/errors.ts";

const server = { server: "https://127.0.0.1:6443", contextName: "admin" };

Deno.test("403 names verb, resource and namespace, exit 4", () => {
  const e = toKodamaError(
    {
      code: 403,
      body: JSON.stringify({ kind: "Status", message: "pods is forbidden", reason: "Forbidden" }),
    },
    { verb: "list", resource: "pods", namespace: "prod" },
    server,
  );
  assertEquals(e.code, 4);
  assertEquals(e.message, "forbidden: cannot list pods in namespace prod");
  assertStringIncludes(e.hint ?? "", "-n");
});

Deno.test("a 403 that is not RBAC shows the API's message, not 'ask for a Role'", () => {
  const rbac = toKodamaError(
    {
      code: 403,
      body: JSON.stringify({
        kind: "Status",
        reason: "Forbidden",
        message:
          'pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "prod"',
      }),
    },
    { verb: "list", resource: "pods", namespace: "prod" },
    server,
  );
  assertEquals(rbac.message, "forbidden: cannot list pods in namespace prod");
  assertStringIncludes(rbac.hint ?? "", "ask for a Role");
  const terminating = toKodamaError(
    {
      code: 403,
      body: JSON.stringify({
        kind: "Status",
        reason: "Forbidden",
        message:
          'pods "x" is forbidden: unable to create new content in namespace dev-1 because it is being terminated',
        details: { name: "x", kind: "pods", causes: [{ reason: "NamespaceTerminating" }] },
      }),
    },
    { verb: "create", resource: "pods", namespace: "dev-1", name: "x" },
    server,
  );
  assertEquals(terminating.code, 4);
  assertEquals(
    terminating.message,
    'forbidden: pods "x" is forbidden: unable to create new content in namespace dev-1 because it is being terminated',
  );
  assertEquals(
    terminating.hint,
    "the namespace is being deleted: wait until it is gone (`kubectl get namespace dev-1`), or use another namespace",
  );
  const quota = toKodamaError(
    {
      code: 403,
      body: {
        kind: "Status",
        message: 'pods "y" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2',
      },
    },
    { verb: "create", resource: "pods", namespace: "dev", name: "y" },
    server,
  );
  assertStringIncludes(quota.message, "exceeded quota");
  // a quota is no RBAC matter: the hint names the quota to look at, never a Role
  assertEquals(
    quota.hint,
    "the namespace's ResourceQuota q has no room for it (`kubectl describe resourcequota q -n dev`): ask for less, free some, or use another namespace",
  );
  const must = toKodamaError(
    {
      code: 403,
      body: {
        kind: "Status",
        message: 'pods "y" is forbidden: failed quota: compute: must specify limits.memory,requests.cpu',
      },
    },
    { verb: "create", resource: "pods", namespace: "dev", name: "y" },
    server,
  );
  assertEquals(must.code, 4);
  assertStringIncludes(must.hint ?? "", "ResourceQuota compute wants every container to state these");
});

Deno.test("401 is an auth failure with exit 4", () => {
  const e = toKodamaError(
    { code: 401, body: "" },
    { verb: "list", resource: "pods", namespace: "x" },
    server,
  );
  assertEquals(e.code, 4);
  assertMatch(e.message, /unauthorized/);
});

Deno.test("404 keeps the server's message and exits 3", () => {
  const e = toKodamaError(
    { code: 404, body: { message: 'pods "nope" not found' } },
    { verb: "get", resource: "pods", namespace: "prod", name: "nope" },
    server,
  );
  assertEquals(e.code, 3);
  assertEquals(e.message, 'pods "nope" not found in namespace prod');
});

Deno.test("fetch failed is unwrapped to its cause and names the server", () => {
  const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
  const e = toKodamaError(
    new TypeError("fetch failed", { cause }),
    { verb: "list", resource: "pods" },
    server,
  );
  assertEquals(e.code, 1);
  assertEquals(e.message, "cannot reach https://127.0.0.1:6443 (context admin): connection refused");
  assertStringIncludes(e.hint ?? "", "kubectl cluster-info --context admin");
});

Deno.test("TLS failures say so", () => {
  const cause = Object.assign(new Error("self-signed certificate in certificate chain"), {
    code: "SELF_SIGNED_CERT_IN_CHAIN",
  });
  const e = toKodamaError(
    new TypeError("fetch failed", { cause }),
    { verb: "list", resource: "pods" },
    server,
  );
  assertMatch(e.message, /^TLS handshake with https:\/\/127.0.0.1:6443/);
});

Deno.test("a connection closed under a request says so, not 'TLS handshake', and drops the TLS library's link", () => {
  // the words of Deno's client when a kept-alive connection is closed by the server as a request goes out
  const cause = new Error(
    "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
  );
  const e = toKodamaError(
    new TypeError("error sending request", { cause }),
    { verb: "delete", resource: "pods", namespace: "prod", name: "api-0" },
    server,
  );
  assertEquals(e.code, 1);
  assertEquals(
    e.message,
    "https://127.0.0.1:6443 (context admin) closed the connection before it answered (peer closed connection without sending TLS close_notify)",
  );
  assertStringIncludes(e.hint ?? "", "kubectl cluster-info --context admin");
  assertEquals(isUnreachable(e), true);
});

Deno.test("rootCause walks AggregateError", () => {
  const inner = Object.assign(new Error("connect ECONNREFUSED ::1"), { code: "ECONNREFUSED" });
  const agg = new AggregateError([inner], "");
  assertEquals(rootCause(new TypeError("fetch failed", { cause: agg })).code, "ECONNREFUSED");
});
