/**
 * A repo is untrusted input (issue 26), against the test cluster, as `kodama run` subprocesses with a
 * fake HOME holding a planted SSH key and cloud credentials:
 *  - class 1: every local path of a built-in step (the local side of `cp`, `local`'s cwd) stays
 *    inside the repository or a granted path, checked after symlinks: absolute paths, `../`, a
 *    symlink at the path and at a parent, writes into $KODAMA_HOME/workflows and .git;
 *  - class 6: a home workflow called from a repo workflow runs with the caller's trust;
 *  - class 7: a repo workflow shadowing a built-in needs trust and says which file runs;
 *  - class 8: a port-forward beyond loopback needs a `net` grant.
 * Afterwards nothing from the fake HOME may be in any pod's files, Secret, ConfigMap, or any output.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { DEMO } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "../cli/_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

const KEY = `-----BEGIN OPENSSH PRIVATE KEY----- PLANTED-KEY-${crypto.randomUUID().slice(0, 8)}`;
const CRED = `aws_secret_access_key = PLANTED-CRED-${crypto.randomUUID().slice(0, 8)}`;
const MARKERS = [KEY.split(" ").at(-1)!, CRED.split(" ").at(-1)!];

const DENO_DIR = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped", stderr: "null" })
      .output()).stdout,
  ),
).denoDir as string;

async function grepTree(dir: string, needles: string[], found: string[] = []): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return found;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory) await grepTree(p, needles, found);
    else if (e.isFile) {
      try {
        const st = await Deno.stat(p);
        if (st.size > 4 << 20) continue;
        const text = new TextDecoder().decode(await Deno.readFile(p));
        for (const n of needles) if (text.includes(n)) found.push(`${p}: ${n}`);
      } catch { /* gone */ }
    }
  }
  return found;
}

clusterTest(
  "trust: a repo workflow touches local files only inside its repo or grants; nothing from HOME leaks",
  { seed: "demo" },
  async (t, cluster) => {
    const tmp = await Deno.makeTempDir({ prefix: "kodama-trust-" });
    const home = join(tmp, "home");
    const repo = join(tmp, "repo");
    const outside = join(tmp, "outside");
    const wfDir = join(repo, ".kodama", "workflows");
    const kodamaHome = join(home, ".kodama");
    const outputs: string[] = [];
    const env = { DENO_DIR, HOME: home, KODAMA_HOME: kodamaHome, KUBECONFIG: cluster.kubeconfig };
    const write = (name: string, text: string) => Deno.writeTextFile(join(wfDir, `${name}.yaml`), text);
    const run = async (args: string[]) => {
      const r = await runKodama(["run", ...args], { env, cwd: repo, timeoutMs: 60_000 });
      outputs.push(r.stdout, r.stderr);
      assert(!hasStackTrace(r.stderr), r.stderr);
      return r;
    };
    const target = `targets:\n  d: { namespace: ${DEMO.wekaNamespace}, match: drive, select: one }\n`;
    try {
      await Deno.mkdir(join(home, ".ssh"), { recursive: true });
      await Deno.mkdir(join(home, ".aws"), { recursive: true });
      await Deno.mkdir(join(kodamaHome, "workflows"), { recursive: true });
      await Deno.writeTextFile(join(home, ".ssh", "id_rsa"), KEY + "\n");
      await Deno.writeTextFile(join(home, ".aws", "credentials"), `[default]\n${CRED}\n`);
      await Deno.mkdir(join(repo, ".git", "hooks"), { recursive: true });
      await Deno.mkdir(wfDir, { recursive: true });
      await Deno.mkdir(outside, { recursive: true });
      await Deno.writeTextFile(join(outside, "shared.txt"), "granted-data\n");
      await Deno.writeTextFile(join(repo, "inside.txt"), "repo-data\n");
      // committed symlinks: one at the path, one at a parent
      await Deno.symlink(join(home, ".ssh"), join(repo, "docs"));
      await Deno.symlink(home, join(repo, "sub"));
      await Deno.symlink(join(home, ".aws", "credentials"), join(repo, "creds"));

      await t.step(
        "cp up: absolute, ../, symlink at the path and at a parent are refused (exit 4)",
        async () => {
          const rel = join("..", "home", ".ssh", "id_rsa");
          for (
            const [i, from] of [
              join(home, ".ssh", "id_rsa"),
              rel,
              "./docs/id_rsa",
              "./sub/.ssh/id_rsa",
              "./creds",
              "sub/.aws/../.ssh/id_rsa",
              join(kodamaHome, "trust.yaml"),
            ].entries()
          ) {
            await write(
              `up${i}`,
              `${target}steps:\n  - cp: { target: d, from: "${from}", to: "pod:/tmp/leak${i}" }\n`,
            );
            const r = await run([`up${i}`]);
            assertEquals(r.code, 4, `${from}: ${r.stderr}`);
            assertStringIncludes(r.stderr, "cp from");
          }
        },
      );

      await t.step(
        "cp down: into $KODAMA_HOME/workflows, outside, through a link, or into .git is refused",
        async () => {
          for (
            const [i, to] of [
              join(kodamaHome, "workflows", "evil.yaml"),
              "../home/.kodama/workflows/evil.yaml",
              "./sub/.kodama/workflows/evil.yaml",
              "./.git/hooks/pre-commit",
              join(outside, "dropped.txt"),
            ].entries()
          ) {
            await write(
              `down${i}`,
              `${target}steps:\n  - cp: { target: d, from: "pod:/etc/hostname", to: "${to}" }\n`,
            );
            const r = await run([`down${i}`]);
            assertEquals(r.code, 4, `${to}: ${r.stderr}`);
            assertStringIncludes(r.stderr, "cp to");
          }
          for (const f of ["evil.yaml"]) {
            await Deno.lstat(join(kodamaHome, "workflows", f)).then(
              () => assert(false, `${f} was written`),
              () => {},
            );
          }
          await Deno.lstat(join(repo, ".git", "hooks", "pre-commit")).then(() => assert(false), () => {});
          await Deno.lstat(join(outside, "dropped.txt")).then(() => assert(false), () => {});
        },
      );

      await t.step("cp: inside the repo works; a granted path outside works once trusted", async () => {
        await write(
          "okcp",
          `${target}steps:\n  - cp: { target: d, from: ./inside.txt, to: "pod:/tmp/inside.txt" }\n  - cp: { target: d, from: "pod:/tmp/inside.txt", to: ./back.txt }\n`,
        );
        const r = await run(["okcp"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await Deno.readTextFile(join(repo, "back.txt")), "repo-data\n");
        await write(
          "granted",
          `${target}permissions: { read: ["${outside}"] }\nsteps:\n  - cp: { target: d, from: "${
            join(outside, "shared.txt")
          }", to: "pod:/tmp/shared.txt" }\n`,
        );
        const refused = await run(["granted"]);
        assertEquals(refused.code, 2, refused.stderr);
        assertStringIncludes(refused.stderr, "--trust");
        const ok = await run(["granted", "--trust"]);
        assertEquals(ok.code, 0, ok.stderr);
      });

      await t.step("a pod's directory copied into the repo never lands in .git", async () => {
        await write(
          "gitdrop",
          `${target}steps:\n  - exec: { target: d, command: [sh, -c, "mkdir -p /tmp/gd/.git/hooks && echo x > /tmp/gd/.git/hooks/post-checkout && echo ok > /tmp/gd/a.txt"] }\n  - cp: { target: d, from: "pod:/tmp/gd", to: ./gd }\n`,
        );
        const r = await run(["gitdrop"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(await Deno.readTextFile(join(repo, "gd", "a.txt")), "ok\n");
        await Deno.lstat(join(repo, "gd", ".git")).then(() => assert(false, ".git was written"), () => {});
        assertStringIncludes(r.stderr, "never writes into .git");
      });

      await t.step("local cwd outside the repo is refused", async () => {
        await write(
          "cwd",
          `permissions: { run: [ls] }\nsteps:\n  - local: { command: [ls, -a], cwd: "${
            join(home, ".ssh")
          }" }\n`,
        );
        const r = await run(["cwd", "--trust"]);
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "local cwd");
        assert(!r.stdout.includes("id_rsa"), r.stdout);
      });

      await t.step("a home workflow called from a repo workflow runs with the caller's trust", async () => {
        await Deno.writeTextFile(
          join(kodamaHome, "workflows", "helper.yaml"),
          `params:\n  x: { default: "true" }\npermissions: { run: [sh] }\nsteps:\n  - local: { command: [sh, -c, "\${{ params.x }}"] }\n`,
        );
        await Deno.writeTextFile(
          join(kodamaHome, "workflows", "fetchkey.yaml"),
          `${target}steps:\n  - cp: { target: d, from: "${
            join(home, ".ssh", "id_rsa")
          }", to: "pod:/tmp/k" }\n`,
        );
        const marker = join(tmp, "pwned");
        await write(
          "deputy",
          `steps:\n  - workflow: { name: helper, params: { x: "touch ${marker}" } }\n`,
        );
        const r = await run(["deputy"]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "helper");
        await Deno.lstat(marker).then(
          () => assert(false, "the home workflow ran the caller's command"),
          () => {},
        );
        // the home workflow that copies the key works when the person runs it, not from a repo
        await write("deputy2", `steps:\n  - workflow: { name: fetchkey }\n`);
        const r2 = await run(["deputy2"]);
        assertEquals(r2.code, 4, r2.stderr);
      });

      await t.step("a workflow step names workflow files only inside the repo", async () => {
        await Deno.writeTextFile(
          join(home, ".aws", "w.yaml"),
          `steps:\n  - local: { command: [x] }\n# ${CRED}\n`,
        );
        await Deno.symlink(join(home, ".aws", "w.yaml"), join(repo, "wlink.yaml"));
        for (
          const [i, name] of [
            join(home, ".aws", "credentials"),
            join(home, ".aws", "w.yaml"),
            "../../../home/.aws/w.yaml",
            "../../wlink.yaml",
            "../../sub/.aws/w.yaml",
          ].entries()
        ) {
          await write(`call${i}`, `steps:\n  - workflow: { name: "${name}" }\n`);
          const r = await run([`call${i}`]);
          assertEquals(r.code, 2, `${name}: ${r.stderr}`);
          assertStringIncludes(r.stderr, "outside the workflow's repository");
        }
      });

      await t.step("a repo kwekash needs trust and says which file runs", async () => {
        await write("kwekash", `${target}steps:\n  - exec: { target: d, command: [echo, repo-kwekash] }\n`);
        const r = await run(["kwekash"]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "replaces the built-in kwekash");
        const ok = await run(["kwekash", "--trust"]);
        assertEquals(ok.code, 0, ok.stderr);
        assertStringIncludes(ok.stderr, join(wfDir, "kwekash.yaml"));
        assertStringIncludes(ok.stdout, "repo-kwekash");
        await Deno.remove(join(wfDir, "kwekash.yaml"));
      });

      await t.step("port-forward beyond loopback needs a net grant", async () => {
        for (const [i, address] of ["0.0.0.0", "::", "127.0.0.1,0.0.0.0"].entries()) {
          await write(
            `pf${i}`,
            `${target}steps:\n  - port-forward: { target: d, ports: [":80"], address: "${address}" }\n`,
          );
          const r = await run([`pf${i}`]);
          assertEquals(r.code, 4, `${address}: ${r.stderr}`);
          assertStringIncludes(r.stderr, "permissions.net");
        }
      });

      await t.step(
        "host API: negative or zero timeoutMs/parallel are clear errors, never Node's warning",
        async () => {
          await Deno.mkdir(join(repo, ".kodama", "scripts"), { recursive: true });
          await Deno.writeTextFile(
            join(repo, ".kodama", "scripts", "bad.ts"),
            `export default async ({ host }) => {
  const pods = await host.listPods("d");
  const out = [];
  for (const o of [{ timeoutMs: -1 }, { timeoutMs: 0 }, { timeoutMs: 1.5 }, { timeoutMs: "5" }, { parallel: 0 }, { parallel: -3 }, { parallel: Infinity }]) {
    try { await host.exec(pods[0], ["true"], o); out.push("accepted " + JSON.stringify(o)); }
    catch (e) { out.push(e.message); }
  }
  const ok = await host.execAll("d", ["echo", "fine"], { timeoutMs: 20000, parallel: 2 });
  return { out: out.join("|"), ok: ok[0].stdout.trim() };
};
`,
          );
          await write(
            "hostbad",
            `${target}steps:
  - id: s
    script: { module: ../scripts/bad.ts }
  - exec: { target: d, command: [echo, "\${{ steps.s.outputs.out }}", "\${{ steps.s.outputs.ok }}"] }
`,
          );
          const r = await run(["hostbad"]);
          assertEquals(r.code, 0, r.stderr);
          assert(!r.stdout.includes("accepted"), r.stdout);
          assertEquals(r.stdout.match(/must be a whole number/g)?.length, 7, r.stdout);
          assertStringIncludes(r.stdout, "fine");
          assert(!/Warning|TimeoutNegative/.test(r.stderr), r.stderr);
        },
      );

      await t.step(
        "issue 50 class 4: a dotfiles git repo at HOME is not the root of a project below it",
        async () => {
          await Deno.mkdir(join(home, ".git"));
          const app = join(home, "work", "app");
          await Deno.mkdir(join(app, ".kodama", "workflows"), { recursive: true });
          await Deno.writeTextFile(
            join(app, ".kodama", "workflows", "grab.yaml"),
            `${target}permissions: {}\nsteps:\n  - cp: { target: d, from: ../../.ssh/id_rsa, to: "pod:/tmp/leak-home" }\n`,
          );
          const r = await runKodama(["run", "grab"], { env, cwd: app, timeoutMs: 60_000 });
          outputs.push(r.stdout, r.stderr);
          assertEquals(r.code, 4, r.stderr);
          assertStringIncludes(r.stderr, "outside the workflow's repository");
          await Deno.remove(join(home, ".git"));
        },
      );

      await t.step("nothing from the fake HOME reached a pod, Secret, ConfigMap or any output", async () => {
        // the test server's pods are local directories: search every file they hold
        if (cluster.testServer) assertEquals(await grepTree(cluster.testServer.runtimeStateDir, MARKERS), []);
        // and, on any cluster, the pods' /tmp (where the refused copies would have landed), from inside
        const grep = `cat /tmp/leak* /tmp/k 2>/dev/null | grep -e ${MARKERS[0]} -e ${
          MARKERS[1]
        }; ls /tmp/leak* /tmp/k 2>/dev/null; echo scanned`;
        await write(
          "scan",
          `targets:\n  all: { namespace: ${DEMO.wekaNamespace}, match: drive, select: all }\nsteps:\n  - exec: { target: all, command: [sh, -c, "${grep}"] }\n`,
        );
        const scan = await run(["scan"]);
        assertEquals(scan.code, 0, scan.stderr);
        assertStringIncludes(scan.stdout, "scanned");
        assert(!scan.stdout.includes("/tmp/") && !scan.stdout.includes("PLANTED"), scan.stdout);
        const kc = await new Deno.Command("kubectl", {
          args: ["--kubeconfig", cluster.kubeconfig, "get", "secrets,configmaps,pods", "-A", "-o", "yaml"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(kc.code, 0, new TextDecoder().decode(kc.stderr));
        const objects = new TextDecoder().decode(kc.stdout);
        for (const m of MARKERS) {
          assert(!objects.includes(m), `${m} reached the cluster`);
          for (const o of outputs) assert(!o.includes(m), `${m} in output: ${o}`);
        }
      });
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);
