/**
 * The namespace's CLI cache behind a private CA (issue 84 point 7), black-box on the test server: the registry
 * is served over HTTPS with a certificate of a throw-away CA, as a company's registry (or its TLS-inspecting
 * proxy) is. The CA bundle the user names in NODE_EXTRA_CA_CERTS of their env file reaches the session pod
 * at /etc/kodama/ca/ca.pem; the install pod got only this machine's NODE_EXTRA_CA_CERTS, so npm failed
 * (SELF_SIGNED_CERT_IN_CHAIN) after over a minute of its own retries, and every later start waited as long
 * in silence before installing on its own. Now the install pod gets the same bundle at the same path (Node's
 * extra CAs and npm's cafile), and an install that fails says why at once: the start that waits on it in
 * one line naming the certificate, a later start before it tries again.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { PRESETS } from "../../src/agent/presets/presets.ts";
import { drain, purge, readUntil, withSessionWorld } from "./_session.ts";
import { onRealCluster } from "../cluster/harness.ts";
import { generateCerts } from "../cluster/certs.ts";

const G = PRESETS.gemini.install;
const IMAGE = "kodama-dev:bookworm";

/** A one-package npm registry over HTTPS (a certificate of its own throw-away CA); counts tarball downloads. */
async function httpsRegistry(label: string) {
  const dir = await Deno.makeTempDir({ prefix: "kodama-npm-ca-" });
  const certs = await generateCerts(join(dir, "certs"), {});
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
  const sha = new Uint8Array(await crypto.subtle.digest("SHA-512", tgz));
  const integrity = `sha512-${sha.toBase64()}`;
  let downloads = 0;
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certs.server.cert,
    key: certs.server.key,
    onListen: () => {},
  }, (req): Response => {
    const url = new URL(req.url);
    if (url.pathname.endsWith(".tgz")) {
      downloads++;
      return new Response(tgz, { headers: { "content-type": "application/octet-stream" } });
    }
    if (decodeURIComponent(url.pathname) === `/${G.package}`) {
      const base = `https://127.0.0.1:${server.addr.port}`;
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
  const ca = join(dir, "certs", "ca.crt");
  return {
    url: `https://127.0.0.1:${server.addr.port}/`,
    ca,
    downloads: () => downloads,
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

withSessionWorld(
  "agent CLI cache behind a private CA: the env file's CA bundle reaches the install pod; a failure is said at once",
  { timeoutMs: 10 * 60_000, ignore: onRealCluster },
  async (t, w) => {
    const trusted = await httpsRegistry("trusted");
    const untrusted = await httpsRegistry("untrusted");
    const names = ["ca1", "ca2", "ca3"];
    const argv = (name: string, envFile: string) => [
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
    ];
    const start = (name: string, envFile: string) => w.k(argv(name, envFile));
    /**
     * A start whose cache install fails: its stderr up to the cache's line, and how long that took (the rest
     * of the start, the session's own install, is not the cache's); then the rest.
     */
    const failing = async (name: string, envFile: string) => {
      const t0 = Date.now();
      const child = w.spawn(argv(name, envFile));
      const { text, rest } = await readUntil(
        child.stderr,
        /(did not finish|kodama: installed [^\n]*into the namespace's CLI cache)[^\n]*\n/,
      );
      const secs = (Date.now() - t0) / 1000;
      // the rest is the session's own install in its pod, against the same registry: npm's retries there
      // take over a minute to fail, and this test is about the cache (each session is purged after)
      child.kill("SIGINT");
      const after = await drain(rest);
      await child.stdout.cancel();
      await child.status;
      return { text, secs, all: text + after };
    };
    try {
      await t.step(
        "the CA the env file names: installed into the cache, through the registry's TLS",
        async () => {
          await Deno.writeTextFile(
            join(w.home, "config.yaml"),
            `agent:\n  cliCacheRegistry: ${trusted.url}\n`,
          );
          const env = join(w.cwd, "ca.env");
          await Deno.writeTextFile(env, `NODE_EXTRA_CA_CERTS=${trusted.ca}\nGEMINI_API_KEY=test-key-1234\n`);
          const r = await start("ca1", env);
          assertEquals(r.code, 0, r.stderr);
          const said = r.stderr.split("\n").filter((l) => l.includes("into the namespace's CLI cache"));
          assertEquals(said.length, 1, r.stderr);
          assertStringIncludes(said[0], `installed ${G.bin} ${G.version} from ${trusted.url}`);
          assertEquals(trusted.downloads(), 1, r.stderr);
          // the install pod: the bundle mounted where a session pod has it, Node and npm pointed there
          const pods = await w.kc([
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/component=agent-clis-install",
            "-o",
            "json",
          ]);
          assertEquals(pods.code, 0, pods.stderr);
          const pod = JSON.parse(pods.stdout).items[0];
          const c = pod.spec.containers[0];
          assert(
            c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === "/etc/kodama/ca"),
            JSON.stringify(c.volumeMounts),
          );
          const e = Object.fromEntries(c.env.map((x: { name: string; value: string }) => [x.name, x.value]));
          assertEquals(e.KODAMA_CA_FILE, "/etc/kodama/ca/ca.pem");
        },
      );

      await t.step("a registry whose CA nobody named: the start says why at once", async () => {
        await Deno.writeTextFile(
          join(w.home, "config.yaml"),
          `agent:\n  cliCacheRegistry: ${untrusted.url}\n`,
        );
        const env = join(w.cwd, "plain.env");
        await Deno.writeTextFile(env, `GEMINI_API_KEY=test-key-1234\n`);
        const r = await failing("ca2", env);
        const said = r.text.split("\n").filter((l) => l.includes("did not finish"));
        assertEquals(said.length, 1, r.all);
        assertStringIncludes(said[0], "certificate is not trusted");
        assertStringIncludes(said[0], "NODE_EXTRA_CA_CERTS");
        // npm's own retries took over a minute (73 s seen) before the start heard of it
        assert(r.secs < 40, `the cache's failure came after ${r.secs} s:\n${r.all}`);
        assertEquals(untrusted.downloads(), 0);
      });

      await t.step("a later start: the earlier failure said before it tries again", async () => {
        const r = await failing("ca3", join(w.cwd, "plain.env"));
        const lines = r.text.split("\n");
        const earlier = lines.findIndex((l) => l.includes("the last install of") && l.includes("failed ("));
        assert(earlier >= 0, r.all);
        assertStringIncludes(lines[earlier], "certificate is not trusted");
        assertStringIncludes(lines[earlier], "trying again");
        assert(lines.findIndex((l) => l.includes("did not finish")) > earlier, r.all);
        assert(r.secs < 40, `the cache's failure came after ${r.secs} s:\n${r.all}`);
      });
    } finally {
      for (const n of names) await purge(w, n).catch(() => {});
      await trusted.close();
      await untrusted.close();
    }
  },
);
