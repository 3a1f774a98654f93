/**
 * kubectl's generic flags with kubectl's meaning, checked against the real kubectl on the same cluster:
 * --as/--as-group/--as-uid (and the kubeconfig's `as`), --user, --cluster, --server, --token,
 * --certificate-authority, --insecure-skip-tls-verify, --request-timeout, KODAMA_CONTEXT/KODAMA_NAMESPACE;
 * the User-Agent on requests and streams; limit/continue paging; 429 + Retry-After retries.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import YAML from "yaml";
import { DEMO, kubectl, type TestCluster } from "../cluster/harness.ts";
import { hasStackTrace, runKodama, spawnKodama } from "../cli/_run.ts";
import { Kube } from "../../src/kube/client.ts";
import { USER_AGENT } from "../../src/kube/overrides.ts";
import { VERSION } from "../../src/base/version.ts";
import { clusterTest } from "../cluster/fixture.ts";

/** A copy of the cluster's kubeconfig, changed by `edit`. */
async function variant(
  c: TestCluster,
  dir: string,
  name: string,
  edit: (kc: Record<string, unknown>) => void,
) {
  const kc = YAML.parse(await Deno.readTextFile(c.kubeconfig));
  edit(kc);
  const file = `${dir}/${name}.yaml`;
  await Deno.writeTextFile(file, YAML.stringify(kc));
  return file;
}

clusterTest("kubectl's generic flags", { seed: "demo" }, async (t, c) => {
  const dir = await Deno.makeTempDir({ prefix: "kodama-flags-" });
  const k = (args: string[], env: Record<string, string> = {}) =>
    runKodama(["--kubeconfig", c.kubeconfig, ...args], { env: { KODAMA_HOME: dir, ...env } });
  const api = DEMO.apiPods[0];
  try {
    await t.step("--as dev: the request is made as dev (Forbidden in prod, like kubectl)", async () => {
      const r = await k(["pods", "--as", "dev", "-n", "prod"]);
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "forbidden: cannot list pods in namespace prod (as dev)");
      assert(!hasStackTrace(r.stderr));
      const kc = await kubectl(c, ["--as", "dev", "get", "pods", "-n", "prod"]);
      assertEquals(kc.code, 1);
      assertStringIncludes(
        kc.stderr,
        `pods is forbidden: User "dev" cannot list resource "pods" in API group "" in the namespace "prod"`,
      );
      // dev's own namespace works as dev; adding the system:masters group makes prod work again
      // dev's namespace answers as dev: a listing (empty on the test server, kubectl's words; others' pods on a
      // real cluster), exit 0 either way
      const own = await k(["pods", "--as", "dev", "-n", "dev"]);
      assertEquals(own.code, 0, own.stderr);
      const g = await k([
        "pods",
        "--as",
        "dev",
        "--as-group",
        "system:masters",
        "-n",
        "prod",
        "-o",
        "name",
      ]);
      assertEquals(g.code, 0, g.stderr);
      assertStringIncludes(g.stdout, `pod/${api}`);
    });

    await t.step("dev may not impersonate: kube-apiserver's message, exit 4", async () => {
      const r = await k(["pods", "--context", "dev", "--as", "admin", "-n", "dev"]);
      assertEquals(r.code, 4, r.stderr);
      const msg =
        `users "admin" is forbidden: User "dev" cannot impersonate resource "users" in API group "" at the cluster scope`;
      assertStringIncludes(r.stderr, msg);
      const kc = await kubectl(c, ["--as", "admin", "get", "pods", "-n", "dev"], { context: "dev" });
      assertStringIncludes(kc.stderr, msg);
      // groups and uids are checked one by one, with their own resource names
      const grp = await kubectl(c, ["--as", "dev", "--as-group", "ops", "get", "pods", "-n", "dev"], {
        context: "dev",
      });
      assertStringIncludes(grp.stderr, `User "dev" cannot impersonate resource "users"`);
    });

    await t.step("--as-group/--as-uid without --as: kubectl's usage error, exit 2", async () => {
      const r = await k(["pods", "--as-group", "ops"]);
      assertEquals(r.code, 2, r.stderr);
      const kc = await kubectl(c, ["--as-group", "ops", "get", "pods"]);
      const text = "requesting uid, groups or user-extra for admin without impersonating a user";
      assertStringIncludes(kc.stderr, text);
      assertStringIncludes(r.stderr, text);
    });

    await t.step("the kubeconfig user's `as` impersonates too; the --as* flags merge into it", async () => {
      const file = await variant(c, dir, "as-dev", (kc) => {
        const users = kc.users as { name: string; user: Record<string, unknown> }[];
        users.find((u) => u.name === "admin")!.user.as = "dev";
      });
      const r = await runKodama(["--kubeconfig", file, "pods", "-n", "prod"], {
        env: { KODAMA_HOME: dir },
      });
      assertEquals(r.code, 4, r.stderr);
      assertStringIncludes(r.stderr, "(as dev)");
      const kc = await new Deno.Command("kubectl", {
        args: ["--kubeconfig", file, "get", "pods", "-n", "prod"],
      })
        .output();
      assertStringIncludes(new TextDecoder().decode(kc.stderr), `User "dev" cannot list resource "pods"`);
      // flags merge into the kubeconfig's impersonation: dev plus the system:masters group may list prod
      const over = await runKodama(
        ["--kubeconfig", file, "pods", "-n", "prod", "--as-group", "system:masters", "-o", "name"],
        { env: { KODAMA_HOME: dir } },
      );
      assertEquals(over.code, 0, over.stderr);
    });

    await t.step(
      "--user and --cluster pick kubeconfig entries; unknown names as kubectl says",
      async () => {
        const r = await k(["pods", "--user", "dev", "-n", "prod"]);
        assertEquals(r.code, 4, r.stderr);
        const u = await k(["pods", "--user", "nope"]);
        assertEquals(u.code, 2);
        assertStringIncludes(u.stderr, `auth info "nope" does not exist`);
        assertStringIncludes(
          (await kubectl(c, ["--user", "nope", "get", "pods"])).stderr,
          `auth info "nope" does not exist`,
        );
        const cl = await k(["pods", "--cluster", "nope"]);
        assertEquals(cl.code, 2);
        assertStringIncludes(cl.stderr, `no server found for cluster "nope"`);
        assertStringIncludes(
          (await kubectl(c, ["--cluster", "nope", "get", "pods"])).stderr,
          `no server found for cluster "nope"`,
        );
      },
    );

    await t.step(
      "KODAMA_CONTEXT and KODAMA_NAMESPACE set the defaults for one shell; flags win",
      async () => {
        const r = await k(["pods", "-o", "name"], { KODAMA_NAMESPACE: "prod" });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `pod/${api}`);
        const dev = await k(["pods", "-n", "prod"], { KODAMA_CONTEXT: "dev" });
        assertEquals(dev.code, 4, dev.stderr);
        const flag = await k(["pods", "-n", "prod", "--context", "admin", "-o", "name"], {
          KODAMA_CONTEXT: "dev",
        });
        assertEquals(flag.code, 0, flag.stderr);
      },
    );

    await t.step({
      name: "--server, --token, --certificate-authority, --insecure-skip-tls-verify without any kubeconfig",
      ignore: c.real,
      fn: async () => {
        const ca = `${c.testServer!.stateDir}/pki/ca.crt`;
        const token = c.testServer!.devToken;
        const env = { KUBECONFIG: `${dir}/none`, KODAMA_HOME: dir };
        const base = ["--server", c.server, "--token", token, "pods", "-n", "dev"];
        const withCa = await runKodama([...base, "--certificate-authority", ca], { env });
        assertEquals(withCa.code, 0, withCa.stderr); // reached the server as dev: nothing in dev
        assertStringIncludes(withCa.stderr, "No resources found in dev namespace.");
        const skip = await runKodama([...base, "--insecure-skip-tls-verify"], { env });
        assertEquals(skip.code, 0, skip.stderr);
        const neither = await runKodama(base, { env });
        assertEquals(neither.code, 1);
        assertMatch(neither.stderr, /TLS|certificate/i);
        const both = await runKodama(
          [...base, "--insecure-skip-tls-verify", "--certificate-authority", ca],
          { env },
        );
        assertEquals(both.code, 2);
        assertStringIncludes(
          both.stderr,
          "specifying a root certificates file with the insecure flag is not allowed",
        );
        const conn = ["--server", c.server, "--token", token, "--certificate-authority", ca];
        const forbidden = await runKodama([...conn, "pods", "-n", "prod"], { env });
        assertEquals(forbidden.code, 4);
        // the token never shows up in what kodama prints
        for (const r of [withCa, skip, neither, both, forbidden]) {
          assert(!(r.stdout + r.stderr).includes(token));
        }
        // kubectl agrees
        const kc = await new Deno.Command("kubectl", {
          args: [...conn, "get", "pods", "-n", "prod"],
          env,
        }).output();
        assertStringIncludes(new TextDecoder().decode(kc.stderr), `User "dev" cannot list resource "pods"`);
      },
    });

    await t.step({
      name: "--request-timeout: a slow server is a timeout (exit 5); a bad value is a usage error",
      ignore: c.real,
      fn: async () => {
        c.faults.delay(3000);
        try {
          const r = await k(["pods", "-n", "prod", "--request-timeout", "300ms"]);
          assertEquals(r.code, 5, r.stderr);
          assertStringIncludes(r.stderr, "within 300ms (--request-timeout)");
          assert(!hasStackTrace(r.stderr));
        } finally {
          c.faults.reset();
        }
        const bad = await k(["pods", "--request-timeout", "soon"]);
        assertEquals(bad.code, 2);
        assertStringIncludes(bad.stderr, "--request-timeout");
        assertEquals((await k(["pods", "-n", "prod", "--request-timeout", "30", "-o", "name"])).code, 0);
      },
    });

    await t.step({
      name: "User-Agent kodama/<version> (<os>/<arch>) on requests, logs, exec and port-forward",
      ignore: c.real,
      fn: async () => {
        assertMatch(
          USER_AGENT,
          new RegExp(
            `^kodama/${VERSION.replaceAll(".", "\\.")} \\((linux|darwin|windows)/(amd64|arm64)\\)$`,
          ),
        );
        const log = () => c.testServer!.requestLog();
        const start = log().length;
        assertEquals((await k(["pods", "-n", "prod", "-o", "name"])).code, 0);
        assertEquals((await k(["logs", "-n", "prod", "--pod", api, "--tail", "1"])).code, 0);
        assertEquals((await k(["exec", "-n", "prod", "--pod", api, "--", "true"])).code, 0);
        // exec through npm:ws (the transport for proxies, skip-verify, several impersonated groups)
        assertEquals(
          (await k(["exec", "-n", "prod", "--pod", api, "--", "true"], { KODAMA_EXEC_TRANSPORT: "ws" }))
            .code,
          0,
        );
        const pf = spawnKodama([
          "--kubeconfig",
          c.kubeconfig,
          "port-forward",
          "-n",
          "prod",
          `pod/${api}`,
          ":8080",
        ], {
          env: { KODAMA_HOME: dir },
        });
        const reader = pf.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        let m: RegExpMatchArray | null = null;
        while (!(m = out.match(/127\.0\.0\.1:(\d+) -> /))) out += (await reader.read()).value ?? "";
        await (await fetch(`http://127.0.0.1:${m[1]}/`)).text();
        pf.kill("SIGINT");
        await reader.cancel();
        await pf.status;
        await pf.stderr.cancel();
        const mine = log().slice(start);
        const kinds = {
          list: mine.filter((r) => /\/namespaces\/prod\/pods\?/.test(r.url)),
          logs: mine.filter((r) => r.url.includes("/log?")),
          exec: mine.filter((r) => r.upgrade && r.url.includes("/exec?")),
          pf: mine.filter((r) => r.upgrade && r.url.includes("/portforward")),
        };
        for (const [kind, rs] of Object.entries(kinds)) {
          assert(rs.length > 0, `no ${kind} request logged`);
          for (const r of rs) {
            assert(r.userAgents.includes(USER_AGENT), `${kind}: ${r.userAgents.join(" | ")}`);
          }
        }
        // the plain requests and the npm:ws streams carry kodama's User-Agent alone
        for (const r of [...kinds.list, ...kinds.logs, ...kinds.pf]) {
          assertEquals(r.userAgents, [USER_AGENT]);
        }
        assert(kinds.exec.some((r) => r.userAgents.length === 1), "the ws exec sends one User-Agent");
        // and the real kubectl's, for comparison: kubectl/<version> (<os>/<arch>) kubernetes/<commit>
        const before = log().length;
        await kubectl(c, ["get", "pods", "-n", "prod"]);
        assertMatch(
          log().slice(before).find((r) => r.url.includes("/pods"))!.userAgents[0],
          /^kubectl\/v\d/,
        );
      },
    });

    await t.step({
      name: "several --as-group values reach the server as separate headers (exec too)",
      ignore: c.real,
      fn: async () => {
        const start = c.testServer!.requestLog().length;
        const r = await k([
          "exec",
          "-n",
          "prod",
          "--pod",
          api,
          "--as",
          "dev",
          "--as-group",
          "ops",
          "--as-group",
          "system:masters",
          "--",
          "true",
        ]);
        assertEquals(r.code, 0, r.stderr);
        const ex = c.testServer!.requestLog().slice(start).find((x) => x.upgrade)!;
        assertEquals(ex.impersonated, "dev");
      },
    });

    await t.step({
      name: "429 with Retry-After is retried (client-go's rule); without it, it is an error",
      ignore: c.real,
      fn: async () => {
        const log = () => c.testServer!.requestLog();
        let start = log().length;
        c.faults.failNext(2, 429, { pathIncludes: "/namespaces/prod/pods", retryAfter: 1 });
        const r = await k(["pods", "-n", "prod", "-o", "name"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, `pod/${api}`);
        const tries = log().slice(start).filter((x) => x.url.startsWith("/api/v1/namespaces/prod/pods"));
        assertEquals(tries.map((x) => x.status), [429, 429, 200]);
        start = log().length;
        c.faults.failNext(1, 429, { pathIncludes: "/namespaces/prod/pods" });
        const once = await k(["pods", "-n", "prod"]);
        assertEquals(once.code, 1);
        assertStringIncludes(once.stderr, "Too many requests");
        assertEquals(
          log().slice(start).filter((x) => x.url.startsWith("/api/v1/namespaces/prod/pods")).length,
          1,
        );
        c.faults.reset();
      },
    });

    await t.step({
      name: "large lists are read in pages with limit/continue; the list's resourceVersion comes along",
      ignore: c.real,
      fn: async () => {
        const kube = await Kube.connect({ kubeconfig: c.kubeconfig });
        try {
          const start = c.testServer!.requestLog().length;
          const what = { verb: "list", resource: "pods" };
          const paged = await kube.listAll<{ metadata: { name: string } }>(
            what,
            "/api/v1/pods",
            {},
            undefined,
            2,
          );
          const all = await kube.listPods(undefined);
          assertEquals(
            paged.items.map((p) => p.metadata.name).sort(),
            all.map((p) => p.metadata!.name!).sort(),
          );
          assert(paged.resourceVersion);
          const pages = c.testServer!.requestLog().slice(start).filter((x) =>
            x.url.startsWith("/api/v1/pods?")
          );
          assert(pages.length >= 4, `${pages.length} pages for ${all.length} pods`);
          assert(pages.every((p) => p.url.includes("limit=")));
          assert(pages.slice(1, -1).every((p) => p.url.includes("continue=")));
        } finally {
          kube.close();
        }
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
