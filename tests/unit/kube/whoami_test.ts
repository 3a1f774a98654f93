/**
 * serviceAccountOf: on servers before 1.26 (no SelfSubjectReview) a session's owner for a token user is the
 * ServiceAccount a Kubernetes-issued token names, and nothing for any other token (never a guess).
 */
import { assertEquals } from "@kodama/test-assert";
import { serviceAccountOf } from "../../../src/kube/client.ts";

const b64url = (o: unknown) =>
  btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const jwt = (claims: unknown) => `${b64url({ alg: "RS256", kid: "k" })}.${b64url(claims)}.c2ln`;

Deno.test("serviceAccountOf: a bound token (kubectl create token) names its ServiceAccount", () => {
  const t = jwt({
    iss: "https://kubernetes.default.svc.cluster.local",
    sub: "system:serviceaccount:dev:share-mate",
    "kubernetes.io": { namespace: "dev", serviceaccount: { name: "share-mate" } },
  });
  assertEquals(serviceAccountOf(t), "system:serviceaccount:dev:share-mate");
});

Deno.test("serviceAccountOf: a legacy token Secret's JWT names its ServiceAccount", () => {
  const t = jwt({ iss: "kubernetes/serviceaccount", sub: "system:serviceaccount:ci:deployer" });
  assertEquals(serviceAccountOf(t), "system:serviceaccount:ci:deployer");
});

Deno.test("serviceAccountOf: other tokens are unknown, not guessed", () => {
  // an OIDC id token: the server's --oidc-username-claim decides the name
  assertEquals(
    serviceAccountOf(jwt({ iss: "https://accounts.example.com", sub: "12345", email: "a@b" })),
    undefined,
  );
  // a JWT claiming a service account without Kubernetes' claims
  assertEquals(
    serviceAccountOf(jwt({ iss: "https://evil", sub: "system:serviceaccount:kube-system:admin" })),
    undefined,
  );
  assertEquals(serviceAccountOf("kodama-test-dev-0123456789abcdef"), undefined);
  assertEquals(serviceAccountOf("a.b"), undefined);
  assertEquals(serviceAccountOf("a.!!!.c"), undefined);
  assertEquals(
    serviceAccountOf(jwt({ iss: "kubernetes/serviceaccount", sub: "system:serviceaccount:x" })),
    undefined,
  );
});
