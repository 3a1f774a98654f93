import { assert, assertEquals } from "@kodama/test-assert";
import { addSecret, redact, redactingSink } from "../../../src/base/redact.ts";
import { secretRefs } from "../../../src/workflow/podsecrets.ts";
import type { V1Pod } from "@kubernetes/client-node";

function collect() {
  const parts: string[] = [];
  return {
    parts,
    sink: {
      write: (c: Uint8Array | string) => parts.push(typeof c === "string" ? c : new TextDecoder().decode(c)),
    },
  };
}

Deno.test("redact: a secret split across writes, even one character at a time, is still ***", () => {
  addSecret("unit-SECRET-4b1d");
  const { parts, sink } = collect();
  const r = redactingSink(sink);
  for (const ch of "x=unit-SECRET-4b1d; y=unit-SEC") r.write(ch);
  // the tail that could still become the secret is held back; the rest is out already
  assert(parts.join("").startsWith("x=***; y="), parts.join(""));
  assert(!parts.join("").includes("unit-SEC"), parts.join(""));
  r.write(new TextEncoder().encode("RET-4b1d\n"));
  assertEquals(parts.join(""), "x=***; y=***\n");
  // at the end of the stream what is held cannot become a secret any more
  r.write("tail unit-SE");
  r.flush();
  assertEquals(parts.join(""), "x=***; y=***\ntail unit-SE");
});

Deno.test("redact: JSON-escaped forms and each line of a multi-line value", () => {
  addSecret('quote"d-SECRET-77');
  assertEquals(redact(JSON.stringify({ v: 'quote"d-SECRET-77' })), '{"v":"***"}');
  addSecret("-----BEGIN KEY-----\nline-one-AAAAAAAA\nline-two-BBBBBBBB\n-----END KEY-----");
  assertEquals(redact("got line-two-BBBBBBBB only"), "got *** only");
  // short lines and short values are left alone (they would blank out ordinary words)
  addSecret("abc");
  assertEquals(redact("abc"), "abc");
});

Deno.test("redact: the Secrets a pod reads — env, envFrom, secret volumes, projected secrets", () => {
  const pod: V1Pod = {
    metadata: { name: "p", namespace: "ns" },
    spec: {
      initContainers: [{ name: "i", envFrom: [{ secretRef: { name: "init-env" } }] }],
      containers: [{
        name: "c",
        env: [{ name: "A", valueFrom: { secretKeyRef: { name: "a", key: "k" } } }, {
          name: "B",
          value: "plain",
        }],
        envFrom: [{ configMapRef: { name: "cm" } }, { secretRef: { name: "bulk" } }],
      }],
      volumes: [
        { name: "v", secret: { secretName: "vol" } },
        { name: "p", projected: { sources: [{ secret: { name: "proj" } }, { configMap: { name: "cm2" } }] } },
      ],
      imagePullSecrets: [{ name: "pull" }],
    },
  };
  assertEquals(secretRefs(pod), ["ns/a", "ns/bulk", "ns/init-env", "ns/proj", "ns/vol"]);
});
