/**
 * Requests go over Deno's own HTTP client (src/kube/transport.ts nativeCall), and so do a session's waits
 * (watchObjects with `native`); the other watches and the streams over node:https. Both must answer alike:
 * the same objects, the same errors (404, 409, 422, 403 as dev, a 401 with a bad token, a server that is
 * gone), each request made once (the server's request log), and --request-timeout's words.
 * Kube.connect's test-only `apiTransport: "node"` forces the node path for the comparison.
 */
import { assert, assertEquals, assertRejects } from "@kodama/test-assert";
import YAML from "yaml";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { KodamaError } from "../../src/base/errors.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { clusterTest } from "../cluster/fixture.ts";

async function outcome(fn: () => Promise<unknown>): Promise<string> {
  try {
    const v = await fn();
    return `ok ${JSON.stringify(v)}`;
  } catch (e) {
    assert(e instanceof KodamaError, `not a KodamaError: ${e}`);
    return `error ${e.code}: ${e.message} | ${e.hint ?? ""}`;
  }
}

/** Every Kube the current run made (to see which transport its requests took). */
const made: Kube[] = [];
/** The transport the Kubes made now are told to use (Kube.connect's test-only `apiTransport`). */
let transport: "node" | undefined;
async function connect(o: Parameters<typeof Kube.connect>[0]): Promise<Kube> {
  const k = await Kube.connect(o, transport ? { apiTransport: transport } : undefined);
  made.push(k);
  return k;
}

/** `fn` over the native path, then over the node path; each run's requests took its path. */
async function bothWays(fn: () => Promise<unknown>, reached = true): Promise<[string, string]> {
  made.length = 0;
  const native = await outcome(fn);
  assert(
    made.length > 0 && made.every((k) => k.requestsBy.native > 0),
    JSON.stringify(made.map((k) => k.requestsBy)),
  );
  if (reached) {
    assert(
      made.every((k) => k.requestsBy.node === 0),
      JSON.stringify(made.map((k) => k.requestsBy)),
    );
  }
  transport = "node";
  try {
    made.length = 0;
    const node = await outcome(fn);
    assert(made.length > 0 && made.every((k) => k.requestsBy.native === 0 && k.requestsBy.node > 0));
    return [native, node];
  } finally {
    transport = undefined;
  }
}

clusterTest(
  "GET over Deno's client answers as node:https does",
  { seed: "demo", ignore: onRealCluster },
  async (t, c) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-native-get-" });
    try {
      const log = () => c.testServer!.requestLog();
      const fresh = (o: Parameters<typeof Kube.connect>[0] = {}) =>
        connect({ kubeconfig: c.kubeconfig, ...o });

      await t.step("objects, 404 and 403 alike; each GET is made once", async () => {
        const cases: [string, () => Promise<unknown>][] = [
          ["list", async () => (await (await fresh()).listPods("prod")).map((p) => p.metadata?.name).sort()],
          [
            "get",
            async () => (await (await fresh()).getObject<V1Pod>("pods", "prod", "nosuch")).metadata?.name,
          ],
          ["403", async () => (await (await fresh({ context: "dev" })).listPods("prod")).length],
        ];
        for (const [name, fn] of cases) {
          const start = log().length;
          const [native, node] = await bothWays(fn);
          assertEquals(native, node, name);
          const gets = log().slice(start).filter((x) => x.method === "GET");
          assertEquals(gets.length, 2, `${name}: one GET each way, got ${gets.map((g) => g.url).join(", ")}`);
        }
      });

      await t.step("writes alike: create, 409, patch, 422, delete, 404, 403; each made once", async () => {
        const cm = (name: string) => ({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name },
          data: { a: "1" },
        });
        const admin = await Kube.connect({ kubeconfig: c.kubeconfig });
        const exists = (name: string) => admin.createObject("configmaps", "dev", cm(name)).then(() => {});
        const none = () => Promise.resolve();
        // [name, method, the state before (on the object's name), the call]
        const cases: [string, string, (n: string) => Promise<void>, (n: string) => Promise<unknown>][] = [
          [
            "create",
            "POST",
            none,
            async (n) =>
              (await (await fresh()).createObject<{ data?: unknown }>("configmaps", "dev", cm(n))).data,
          ],
          ["409", "POST", exists, async (n) => (await fresh()).createObject("configmaps", "dev", cm(n))],
          [
            "patch",
            "PATCH",
            exists,
            async (n) =>
              (await (await fresh()).patchObject<{ data?: unknown }>("configmaps", "dev", n, {
                data: { b: "2" },
              })).data,
          ],
          ["422", "POST", none, async () =>
            (await fresh()).createObject("configmaps", "dev", {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "Not_A_Name" },
            })],
          ["delete", "DELETE", exists, async (n) => {
            await (await fresh()).deleteObject("configmaps", "dev", n);
            return "deleted";
          }],
          ["404", "DELETE", none, async (n) => (await fresh()).deleteObject("configmaps", "dev", n)],
          [
            "403",
            "POST",
            none,
            async (n) => (await fresh({ context: "dev" })).createObject("configmaps", "prod", cm(n)),
          ],
        ];
        for (const [name, method, before, call] of cases) {
          const ways: string[] = [];
          for (const way of ["native", "node"]) {
            const obj = `w-${name}-${way}`;
            await before(obj);
            const start = log().length;
            if (way === "node") {
              transport = "node";
            }
            try {
              made.length = 0;
              ways.push((await outcome(() => call(obj))).replaceAll(obj, "NAME"));
              const by = made.map((k) => k.requestsBy);
              assert(
                by.every((r) =>
                  way === "native" ? r.node === 0 && r.native > 0 : r.native === 0 && r.node > 0
                ),
                `${name} (${way}): ${JSON.stringify(by)}`,
              );
            } finally {
              transport = undefined;
            }
            const writes = log().slice(start).filter((x) => x.method === method);
            assertEquals(writes.length, 1, `${name} (${way}): one ${method}`);
          }
          assertEquals(ways[0], ways[1], name);
        }
      });

      await t.step("a 401 (bad token) is the same error, after one re-read of the credentials", async () => {
        const doc = YAML.parse(await Deno.readTextFile(c.kubeconfig));
        const ctx = doc.contexts.find((x: { name: string }) => x.name === "dev").context;
        const user = doc.users.find((u: { name: string }) => u.name === ctx.user).user;
        delete user["client-certificate-data"];
        delete user["client-key-data"];
        user.token = "not-a-valid-token";
        const bad = join(dir, "bad.yaml");
        await Deno.writeTextFile(bad, YAML.stringify({ ...doc, "current-context": "dev" }));
        const start = log().length;
        const [native, node] = await bothWays(async () =>
          (await connect({ kubeconfig: bad })).listPods("dev")
        );
        assertEquals(native, node);
        assert(native.startsWith("error 4: unauthorized"), native);
        assertEquals(log().slice(start).filter((x) => x.status === 401).length, 4); // two tries each way
      });

      await t.step("a server that is gone: the same words", async () => {
        const doc = YAML.parse(await Deno.readTextFile(c.kubeconfig));
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (l.addr as Deno.NetAddr).port;
        l.close();
        doc.clusters[0].cluster.server = `https://127.0.0.1:${port}`;
        const gone = join(dir, "gone.yaml");
        await Deno.writeTextFile(gone, YAML.stringify(doc));
        const [native, node] = await bothWays(
          async () => (await connect({ kubeconfig: gone })).listPods("dev"),
          false,
        );
        assertEquals(native, node);
        assert(native.includes("cannot reach"), native);
      });

      await t.step("--request-timeout: the same timeout error (exit 5)", async () => {
        c.faults.delay(3000);
        try {
          const [native, node] = await bothWays(async () =>
            (await fresh({ requestTimeoutMs: 300 })).listPods("staging")
          );
          assertEquals(native, node);
          assert(native.startsWith("error 5: timeout"), native);
        } finally {
          c.faults.reset();
        }
      });

      await t.step("an aborted signal rejects without a request", async () => {
        const kube = await fresh();
        const ac = new AbortController();
        ac.abort();
        await assertRejects(() =>
          kube.request({ verb: "list", resource: "pods" }, "GET", "/api/v1/pods", { signal: ac.signal })
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
