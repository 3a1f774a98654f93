/**
 * The namespace's agent-CLI cache (issue 66 point 5), black-box on the test server: `start --replicas 3
 * --prompt` with the gemini preset on an image without it installs it once, by one install pod, from a
 * local npm registry this test serves (real npm, a real package: its tarball GETs are the installs), and
 * every replica's run uses that install; a later session installs nothing; `agent.cliCache: off` installs
 * per session as before, and so does a namespace whose storage has no ReadWriteMany (said once, recorded).
 * The registry reaches the pods through NPM_CONFIG_REGISTRY in an env file.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { PRESETS } from "../../src/agent/presets.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { kubectl, onRealCluster } from "../cluster/harness.ts";

const G = PRESETS.gemini.install;
const IMAGE = "kodama-dev:bookworm";

/** A one-package npm registry: the fake gemini CLI at the pinned version; counts tarball downloads. */
async function fakeRegistry() {
  const dir = await Deno.makeTempDir({ prefix: "kodama-npm-" });
  await Deno.mkdir(join(dir, "package"));
  await Deno.writeTextFile(
    join(dir, "package", "package.json"),
    JSON.stringify({ name: G.package, version: G.version, bin: { [G.bin]: "cli.js" } }),
  );
  await Deno.writeTextFile(
    join(dir, "package", "cli.js"),
    `#!/usr/bin/env node\nprocess.stdin.resume();process.stdin.on("end",()=>{console.log("fake gemini ran from " + __filename)});\n`,
  );
  const tar = await new Deno.Command("tar", { args: ["czf", "p.tgz", "package"], cwd: dir }).output();
  assert(tar.success);
  const tgz = await Deno.readFile(join(dir, "p.tgz"));
  let downloads = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req): Response => {
    const url = new URL(req.url);
    if (url.pathname.endsWith(".tgz")) {
      downloads++;
      return new Response(tgz, { headers: { "content-type": "application/octet-stream" } });
    }
    if (decodeURIComponent(url.pathname) === `/${G.package}`) {
      const base: string = `http://127.0.0.1:${server.addr.port}`;
      return Response.json({
        name: G.package,
        "dist-tags": { latest: G.version },
        versions: {
          [G.version]: {
            name: G.package,
            version: G.version,
            bin: { [G.bin]: "cli.js" },
            dist: { tarball: `${base}/p.tgz` },
          },
        },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    downloads: () => downloads,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

withSessionWorld(
  "agent CLI cache: one install for --replicas 3 and a later session; off and no ReadWriteMany install per session",
  {
    timeoutMs: 10 * 60_000,
    // the test server's: its pods reach the registry this test serves on the host's loopback, and its
    // kodama-dev image runs the host's Node. A real cluster's pods reach neither (and the v1.24 cluster's
    // kodama-dev:bookworm has Node 18, which kodama refuses for gemini-cli 0.61 in one line:
    // tests/unit/agent/agent_test.ts, session_agent_test.ts)
    ignore: onRealCluster,
  },
  async (t, w) => {
    const reg = await fakeRegistry();
    const envFile = join(w.cwd, "npm.env");
    await Deno.writeTextFile(envFile, `NPM_CONFIG_REGISTRY=${reg.url}\nGEMINI_API_KEY=test-key-1234\n`);
    const start = (name: string, more: string[] = []) =>
      w.k([
        "start",
        name,
        "--image",
        IMAGE,
        "--agent",
        "gemini",
        "--prompt",
        "hello",
        "--env-file",
        envFile,
        "--no-preflight",
        ...more,
      ]);
    const runLog = async (name: string) => {
      for (let i = 0; i < 120; i++) {
        const r = await w.sh(name, "cat $HOME/.kodama/runs/1/log 2>/dev/null");
        if (r.stdout.includes("fake gemini ran")) return r.stdout;
        await new Promise((res) => setTimeout(res, 500));
      }
      throw new Error(`${name}: its run never ran the fake gemini`);
    };
    const names = ["g-1", "g-2", "g-3", "later", "own", "norwx", "norwx2"];
    try {
      await t.step(
        "start --replicas 3: one install pod, one download, every replica's run uses it",
        async () => {
          const r = await start("g", ["--replicas", "3"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(reg.downloads(), 1, r.stderr);
          const lines = r.stderr.split("\n");
          assertEquals(lines.filter((l) => l.includes("into the namespace's CLI cache")).length, 1, r.stderr);
          assert(!r.stderr.includes("kodama: installing"), r.stderr);
          assert(!r.stderr.includes("npm http") && !r.stderr.includes("added 1 package"), r.stderr);
          for (const n of ["g-1", "g-2", "g-3"]) {
            assertStringIncludes(await runLog(n), `/opt/kodama-clis/${G.package}@${G.version}/`);
          }
          const pods = await w.kc([
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/component=agent-clis-install",
            "-o",
            "name",
          ]);
          assertEquals(pods.stdout.trim().split("\n").length, 1, pods.stdout);
        },
      );

      await t.step("a later session: no install, the cache is used", async () => {
        const r = await start("later");
        assertEquals(r.code, 0, r.stderr);
        assertEquals(reg.downloads(), 1, r.stderr);
        assert(!r.stderr.includes("CLI cache") && !r.stderr.includes("kodama: installing"), r.stderr);
        assertStringIncludes(await runLog("later"), "/opt/kodama-clis/");
      });

      await t.step("agent.cliCache: off: the session installs into its own home volume", async () => {
        await Deno.writeTextFile(join(w.home, "config.yaml"), "agent:\n  cliCache: off\n");
        const r = await start("own");
        assertEquals(r.code, 0, r.stderr);
        const log = await runLog("own");
        assert(!log.includes("/opt/kodama-clis/"), log);
        assertEquals(reg.downloads(), 2, r.stderr);
      });

      await t.step({
        name:
          "storage without ReadWriteMany: one line, the per-session install, the verdict kept for later starts",
        // a StorageClass of the test server's provisioner that refuses the mode
        fn: async () => {
          await Deno.writeTextFile(join(w.home, "config.yaml"), "{}\n");
          for (const n of names) await purge(w, n);
          // the documented removal of the cache (delete and gc never take it)
          const podsGone = await w.kc([
            "delete",
            "pod",
            "-l",
            "app.kubernetes.io/component=agent-clis-install",
          ]);
          assertEquals(podsGone.code, 0, podsGone.stderr);
          const gone = await w.kc(["delete", "pvc", "kodama-agent-clis", "--wait=true", "--timeout=60s"]);
          assertEquals(gone.code, 0, gone.stderr);
          const rwo = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: rwo-only
  annotations: { storageclass.kubernetes.io/is-default-class: "true" }
provisioner: kodama.dev/test-hostpath
parameters: { accessModes: "ReadWriteOnce,ReadOnlyMany" }
`;
          assertEquals((await kubectl(w.c, ["apply", "-f", "-"], { stdin: rwo })).code, 0);
          const before = reg.downloads();
          const r = await start("norwx");
          assertEquals(r.code, 0, r.stderr);
          const said = r.stderr.split("\n").filter((l) =>
            l.includes("cannot share the CLI cache (ReadWriteMany)")
          );
          assertEquals(said.length, 1, r.stderr);
          assertStringIncludes(r.stderr, "kodama: installing gemini");
          assert(!(await runLog("norwx")).includes("/opt/kodama-clis/"));
          const pvc = await w.kc([
            "get",
            "pvc",
            "kodama-agent-clis",
            "-o",
            "jsonpath={.metadata.annotations}",
          ]);
          assertStringIncludes(pvc.stdout, '"kodama.dev/cli-cache":"unavailable"');
          // a later start reads the verdict: no install pod, no line, its own install
          const again = await start("norwx2");
          assertEquals(again.code, 0, again.stderr);
          assert(!again.stderr.includes("CLI cache"), again.stderr);
          await runLog("norwx2");
          assertEquals(reg.downloads(), before + 2);
        },
      });
    } finally {
      for (const n of names) await purge(w, n).catch(() => {});
      await reg.close();
    }
  },
);
