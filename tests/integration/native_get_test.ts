/**
 * GETs go over Deno's own HTTP client (src/kube/client.ts nativeGet) and everything else over node:https.
 * Both must answer alike: the same objects, the same errors (404, 403 as dev, a 401 with a bad token, a
 * server that is gone), each GET made once (the server's request log), and --request-timeout's words.
 * KODAMA_API_TRANSPORT=node forces the node path for the comparison.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import YAML from "yaml";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { Kube } from "../../src/kube/client.ts";
import { KodamaError } from "../../src/errors.ts";
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
async function connect(o: Parameters<typeof Kube.connect>[0]): Promise<Kube> {
  const k = await Kube.connect(o);
  made.push(k);
  return k;
}

/** `fn` over the native path, then with KODAMA_API_TRANSPORT=node; each run's requests took its path. */
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
  Deno.env.set("KODAMA_API_TRANSPORT", "node");
  try {
    made.length = 0;
    const node = await outcome(fn);
    assert(made.length > 0 && made.every((k) => k.requestsBy.native === 0 && k.requestsBy.node > 0));
    return [native, node];
  } finally {
    Deno.env.delete("KODAMA_API_TRANSPORT");
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
