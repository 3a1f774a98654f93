/**
 * The namespace's agent-CLI cache (issue 66 point 5; issue 79), black-box on the test server: `start
 * --replicas 3 --prompt` with the gemini preset on an image without it installs it once, by one install
 * pod, from the registry the user's config names (a local npm registry this test serves: real npm, a real
 * package, its tarball GETs are the installs), and every replica's run uses that install; a later session
 * installs nothing; `agent.cliCache: off` installs per session as before, and so does a namespace whose
 * storage has no ReadWriteMany (said once, recorded).
 *
 * The session's own env (an env file's NPM_CONFIG_REGISTRY, NPM_CONFIG_USERCONFIG) points at another,
 * poisoned registry: the install pod never takes the session's env or image, and that registry is never
 * asked. A later session whose user names another registry gets its own entry (said, with the other
 * source); a registry whose stated integrity does not match its tarball fills nothing.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { PRESETS } from "../../src/agent/presets/presets.ts";
import { purge, withSessionWorld } from "./_session.ts";
import { kubectl, onRealCluster } from "../cluster/harness.ts";

const G = PRESETS.gemini.install;
const IMAGE = "kodama-dev:bookworm";

/**
 * A one-package npm registry: a fake gemini CLI at the pinned version that says which registry it came from;
 * its packument states the tarball's sha512 (`lie`: another one). Counts every request and tarball download.
 */
async function fakeRegistry(
  label: string,
  o: {
    lie?: boolean;
    /** the first tarball download waits for this (called when it is asked for) */
    holdFirst?: () => Promise<void>;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-npm-" });
  await Deno.mkdir(join(dir, "package"));
  await Deno.writeTextFile(
    join(dir, "package", "package.json"),
    JSON.stringify({ name: G.package, version: G.version, bin: { [G.bin]: "cli.js" } }),
  );
  await Deno.writeTextFile(
    join(dir, "package", "cli.js"),
    `#!/usr/bin/env node\nprocess.stdin.resume();process.stdin.on("end",()=>{console.log("fake gemini (${label}) ran from " + __filename)});\n`,
  );
  const tar = await new Deno.Command("tar", { args: ["czf", "p.tgz", "package"], cwd: dir }).output();
  assert(tar.success);
  const tgz = await Deno.readFile(join(dir, "p.tgz"));
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", o.lie ? new Uint8Array([1, 2, 3]) : tgz));
  const integrity = `sha512-${sha.toBase64()}`;
  let downloads = 0;
  let hits = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req): Promise<Response> => {
    hits++;
    const url = new URL(req.url);
    if (url.pathname.endsWith(".tgz")) {
      if (++downloads === 1 && o.holdFirst) await o.holdFirst();
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
            dist: { tarball: `${base}/p.tgz`, integrity },
          },
        },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    downloads: () => downloads,
    hits: () => hits,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

withSessionWorld(
  "agent CLI cache: one install for --replicas 3 and a later session, from the user's registry only; off and no ReadWriteMany install per session",
  {
    timeoutMs: 10 * 60_000,
    // the test server's: its pods reach the registry this test serves on the host's loopback, and its
    // kodama-dev image runs the host's Node. A real cluster's pods reach neither (and the v1.24 cluster's
    // kodama-dev:bookworm has Node 18, which kodama refuses for gemini-cli 0.61 in one line:
    // tests/unit/agent/agent_test.ts, session_agent_test.ts)
    ignore: onRealCluster,
    // the Job's back-off before the cut install pod's replacement: 1 s, not 10 (what is checked is that the
    // replacement installs, not when it comes)
    controllers: { backoffBaseMs: 1000 },
  },
  async (t, w) => {
    const reg = await fakeRegistry("user");
    const evil = await fakeRegistry("evil");
    const other = await fakeRegistry("other");
    const liar = await fakeRegistry("liar", { lie: true });
    // the session's env: a poisoned registry, by variable and by an npmrc naming it
    const npmrc = join(w.cwd, "evil.npmrc");
    await Deno.writeTextFile(npmrc, `registry=${evil.url}\n`);
    const evilEnv = join(w.cwd, "evil.env");
    await Deno.writeTextFile(
      evilEnv,
      `NPM_CONFIG_REGISTRY=${evil.url}\nNPM_CONFIG_USERCONFIG=${npmrc}\nGEMINI_API_KEY=test-key-1234\n`,
    );
    // the session's own per-session installs (off, no ReadWriteMany) use the user's registry
    const envFile = join(w.cwd, "npm.env");
    await Deno.writeTextFile(envFile, `NPM_CONFIG_REGISTRY=${reg.url}\nGEMINI_API_KEY=test-key-1234\n`);
    const config = (more = "") =>
      Deno.writeTextFile(join(w.home, "config.yaml"), `agent:\n  cliCacheRegistry: ${reg.url}\n${more}`);
    const start = (
      name: string,
      more: string[] = [],
      o: { env?: string; here?: Record<string, string> } = {},
    ) =>
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
        o.env ?? envFile,
        "--no-preflight",
        ...more,
      ]);
    const runLog = async (name: string) => {
      for (let i = 0; i < 120; i++) {
        const r = await w.sh(name, "cat $HOME/.kodama/runs/1/log 2>/dev/null");
        if (r.stdout.includes("fake gemini (")) return r.stdout;
        await new Promise((res) => setTimeout(res, 500));
      }
      throw new Error(`${name}: its run never ran the fake gemini`);
    };
    const installPods = async () => {
      const r = await w.kc([
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component=agent-clis-install",
        "-o",
        "json",
      ]);
      assertEquals(r.code, 0, r.stderr);
      // deno-lint-ignore no-explicit-any
      return JSON.parse(r.stdout).items as any[];
    };
    const names = ["g-1", "g-2", "g-3", "later", "other", "cut", "liar", "own", "norwx", "norwx2"];
    try {
      await t.step(
        "start --replicas 3, the session's env poisoned: one install pod of kodama's, from the user's registry",
        async () => {
          await config();
          const r = await start("g", ["--replicas", "3"], { env: evilEnv });
          assertEquals(r.code, 0, r.stderr);
          assertEquals(reg.downloads(), 1, r.stderr);
          // the session's registry was never asked, by the install pod or anything else
          assertEquals(evil.hits(), 0, r.stderr);
          const lines = r.stderr.split("\n");
          const said = lines.filter((l) => l.includes("into the namespace's CLI cache"));
          assertEquals(said.length, 1, r.stderr);
          assertStringIncludes(said[0], `from ${reg.url} (sha512 checked`);
          assert(!r.stderr.includes("kodama: installing"), r.stderr);
          assert(!r.stderr.includes("npm http") && !r.stderr.includes("added 1 package"), r.stderr);
          for (const n of ["g-1", "g-2", "g-3"]) {
            const log = await runLog(n);
            assertStringIncludes(
              log,
              `fake gemini (user) ran from /opt/kodama-clis/${G.package}@${G.version}/`,
            );
          }
          const pods = await installPods();
          assertEquals(pods.length, 1);
          const pod = pods[0];
          // the install pod belongs to the install Job, which is Complete (the entry's record)
          const job = pod.metadata.labels["job-name"];
          assert(job && pod.metadata.name.startsWith(`${job}-`), pod.metadata.name);
          const cond = await w.kc(["get", "job", job, "-o", "jsonpath={.status.conditions[*].type}"]);
          assertStringIncludes(cond.stdout, "Complete", cond.stderr);
          const c = pod.spec.containers[0];
          // kodama's image and environment; the session's image only in the probe, with nothing of the session
          assertEquals(c.image, "node:22-bookworm");
          assertEquals(c.envFrom, undefined);
          const env = Object.fromEntries(
            (c.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value]),
          );
          assertEquals(env.NPM_CONFIG_REGISTRY, reg.url);
          assert(!JSON.stringify(pod.spec).includes(evil.url), JSON.stringify(pod.spec));
          assert(!("NPM_CONFIG_USERCONFIG" in env) && !("GEMINI_API_KEY" in env), JSON.stringify(env));
          assertEquals(pod.spec.initContainers.map((i: { image: string }) => i.image), [IMAGE]);
          assertEquals(pod.spec.initContainers[0].env, undefined);
          assertEquals(pod.spec.initContainers[0].volumeMounts, undefined);
          // under its own egress policy, which selects it
          const np = await w.kc(["get", "networkpolicy", job, "-o", "json"]);
          assertEquals(np.code, 0, np.stderr);
          const sel = JSON.parse(np.stdout).spec.podSelector.matchLabels as Record<string, string>;
          assert(Object.keys(sel).length > 0);
          for (const [k, v] of Object.entries(sel)) assertEquals(pod.metadata.labels[k], v, k);
        },
      );

      await t.step("a later session: no install, the cache is used", async () => {
        const r = await start("later", [], { env: evilEnv });
        assertEquals(r.code, 0, r.stderr);
        assertEquals(reg.downloads(), 1, r.stderr);
        assert(!r.stderr.includes("CLI cache") && !r.stderr.includes("kodama: installing"), r.stderr);
        assertStringIncludes(await runLog("later"), "fake gemini (user) ran from /opt/kodama-clis/");
        assertEquals(evil.hits(), 0);
      });

      await t.step(
        "another source (the user names another registry): its own entry, the other one said and not used",
        async () => {
          // (this machine's NPM_CONFIG_REGISTRY counts the same: tests/unit/agent/clicache_test.ts; here it
          // would also be Deno's own registry for kodama's modules)
          await Deno.writeTextFile(join(w.home, "config.yaml"), `agent:\n  cliCacheRegistry: ${other.url}\n`);
          const r = await start("other", [], { env: evilEnv });
          assertEquals(r.code, 0, r.stderr);
          assertEquals(other.downloads(), 1, r.stderr);
          assertStringIncludes(r.stderr, `installed gemini ${G.version} from ${other.url}`);
          assertStringIncludes(
            r.stderr,
            `not the entries from another source (${reg.url} with node:22-bookworm)`,
          );
          assertStringIncludes(await runLog("other"), "fake gemini (other) ran from /opt/kodama-clis/");
          assertEquals(reg.downloads(), 1);
          assertEquals(evil.hits(), 0);
        },
      );

      await t.step(
        "the install pod deleted half-way (a lost node): the Job's next pod installs it, the start uses it",
        async () => {
          let cutPod = "";
          const cut = await fakeRegistry("cut", {
            holdFirst: async () => {
              // the install pod is fetching the tarball: it goes, as a lost node's pod goes
              const r = await w.kc([
                "get",
                "pods",
                "-l",
                "app.kubernetes.io/component=agent-clis-install",
                "-o",
                "json",
              ]);
              // deno-lint-ignore no-explicit-any
              const live = JSON.parse(r.stdout).items.filter((p: any) =>
                p.status?.phase !== "Succeeded" && !p.metadata.deletionTimestamp
              );
              assertEquals(live.length, 1, r.stdout);
              cutPod = live[0].metadata.name;
              assertEquals((await w.kc(["delete", "pod", cutPod, "--wait=true", "--timeout=60s"])).code, 0);
            },
          });
          try {
            await Deno.writeTextFile(join(w.home, "config.yaml"), `agent:\n  cliCacheRegistry: ${cut.url}\n`);
            const r = await start("cut", [], { env: evilEnv });
            assertEquals(r.code, 0, r.stderr);
            assert(cutPod, "the first install pod was never cut");
            // the first try's download was cut off with its pod; the Job's second pod downloaded again
            assertEquals(cut.downloads(), 2, r.stderr);
            assertEquals(
              r.stderr.split("\n").filter((l) => l.includes("into the namespace's CLI cache")).length,
              1,
            );
            assertStringIncludes(r.stderr, `installed gemini ${G.version} from ${cut.url}`);
            assert(
              !r.stderr.includes("did not finish") && !r.stderr.includes("kodama: installing"),
              r.stderr,
            );
            assertStringIncludes(await runLog("cut"), "fake gemini (cut) ran from /opt/kodama-clis/");
            // the entry the session mounts: complete, and nothing of the cut try beside it
            const ls = await w.sh(
              "cut",
              `ls -A /opt/kodama-clis/@google/ /opt/kodama-clis/${G.package}@${G.version}/`,
            );
            assertStringIncludes(ls.stdout, ".complete", ls.stderr);
            assert(!ls.stdout.includes(".partial"), ls.stdout);
            // the Job: one pod failed (the cut one), one succeeded
            const job = cutPod.replace(/-[a-z0-9]{5}$/, "");
            const st = await w.kc(["get", "job", job, "-o", "jsonpath={.status.failed} {.status.succeeded}"]);
            assertEquals(st.stdout, "1 1", st.stderr);
          } finally {
            await cut.close();
          }
        },
      );

      await t.step(
        "a registry whose stated integrity is not its tarball's: nothing cached, said in one line",
        async () => {
          await Deno.writeTextFile(join(w.home, "config.yaml"), `agent:\n  cliCacheRegistry: ${liar.url}\n`);
          const r = await start("liar");
          assertEquals(r.code, 0, r.stderr);
          const said = r.stderr.split("\n").filter((l) => l.includes("did not finish"));
          assertEquals(said.length, 1, r.stderr);
          assertStringIncludes(said[0], "does not match the integrity the registry states");
          assertStringIncludes(r.stderr, "kodama: installing gemini");
          const log = await runLog("liar");
          assert(!log.includes("/opt/kodama-clis/"), log);
          assertStringIncludes(log, "fake gemini (user)");
        },
      );

      await t.step("agent.cliCache: off: the session installs into its own home volume", async () => {
        await config("  cliCache: off\n");
        const before = reg.downloads();
        const r = await start("own");
        assertEquals(r.code, 0, r.stderr);
        const log = await runLog("own");
        assert(!log.includes("/opt/kodama-clis/"), log);
        assertEquals(reg.downloads(), before + 1, r.stderr);
      });

      await t.step({
        name:
          "storage without ReadWriteMany: one line, the per-session install, the verdict kept for later starts",
        // a StorageClass of the test server's provisioner that refuses the mode
        fn: async () => {
          await config();
          // side by side: one after another the sessions' purges took ~12 s of this step
          await Promise.all(names.map((n) => purge(w, n)));
          // the documented removal of the cache (delete and gc never take it)
          const podsGone = await w.kc([
            "delete",
            "job,pod,networkpolicy",
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
      for (const r of [reg, evil, other, liar]) await r.close();
    }
  },
);
