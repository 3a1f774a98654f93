/**
 * A repo is untrusted input (#26 class 9): a hostile `.kodama.yaml` and committed symlinks, against the
 * test server, with a fake HOME holding a planted private key, cloud credentials and a planted env var.
 * Nothing of them may reach a pod, a Secret, a ConfigMap, kodama's output or its state files; what the
 * repo does set is shown by `start`. Plus the files kodama reads being bounded and regular (#26 defects).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { closedPortKubeconfig, hasStackTrace, runKodama } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const PLANTED = [
  "PLANTED-PRIVATE-KEY-7f3a",
  "PLANTED-AWS-SECRET-91bc",
  "PLANTED-ENV-VALUE-44de",
  "PLANTED-BASHRC-0c1d",
];

/** A fake HOME with a key, credentials and a .bashrc, each holding a planted marker. */
async function fakeHome(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "kodama-fakehome-" });
  await Deno.mkdir(join(home, ".ssh"));
  await Deno.writeTextFile(
    join(home, ".ssh", "id_rsa"),
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${PLANTED[0]}\n-----END OPENSSH PRIVATE KEY-----\n`,
  );
  await Deno.mkdir(join(home, ".aws"));
  await Deno.writeTextFile(join(home, ".aws", "credentials"), `AWS_SECRET_ACCESS_KEY=${PLANTED[1]}\n`);
  await Deno.writeTextFile(join(home, ".bashrc"), `export BASHRC_SECRET=${PLANTED[3]}\n`);
  return home;
}

/** Every planted marker found in `text`. */
function leaks(text: string): string[] {
  return PLANTED.filter((p) => text.includes(p));
}

/** The objects as JSON text, with every Secret's data decoded (base64 would hide a marker). */
function decoded(listJson: string): string {
  const list = JSON.parse(listJson) as { items: { kind: string; data?: Record<string, string> }[] };
  const parts = [listJson];
  for (const o of list.items) {
    if (o.kind !== "Secret") continue;
    for (const v of Object.values(o.data ?? {})) {
      parts.push(new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0))));
    }
  }
  return parts.join("\n");
}

/** Deno's cache stays the real one when HOME is faked (else every run downloads the npm packages). */
const DENO_DIR = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");

async function walkText(dir: string): Promise<string> {
  let out = "";
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out += await walkText(p);
    else if (e.isFile) out += await Deno.readTextFile(p).catch(() => "");
  }
  return out;
}

withSessionWorld(
  "start with a hostile .kodama.yaml: nothing from a planted HOME reaches the cluster, output or state",
  {},
  async (t, w) => {
    const home = await fakeHome();
    const env = {
      HOME: home,
      PLANTED_ENV: PLANTED[2],
      AWS_SECRET_ACCESS_KEY: PLANTED[1],
      GITHUB_TOKEN: "legit-token-from-the-user",
      DENO_DIR,
    };
    try {
      await Deno.mkdir(join(w.cwd, ".git"));
      await Deno.mkdir(join(w.cwd, ".kodama", "configs"), { recursive: true });
      await Deno.writeTextFile(join(w.cwd, ".kodama", "configs", "zellij-config.kdl"), 'theme "dracula"\n');
      // committed symlinks out of the repository
      await Deno.symlink(join(home, ".aws", "credentials"), join(w.cwd, ".env"));
      await Deno.symlink(join(home, ".ssh"), join(w.cwd, "certs"));
      await Deno.writeTextFile(
        join(w.cwd, ".kodama.yaml"),
        [
          "env:",
          `  dotenvFiles: [${join(home, ".bashrc")}, ../${home.split("/").pop()}/.aws/credentials, .env]`,
          "git:",
          `  caFile: ${join(home, ".ssh", "id_rsa")}`,
          "  tokenEnv: PLANTED_ENV",
          "agent:",
          "  authEnv: [PLANTED_ENV, AWS_SECRET_ACCESS_KEY]",
          "portForward:",
          "  address: 0.0.0.0",
          "defaults:",
          "  image: " + SESSION_IMAGE,
          "",
        ].join("\n"),
      );
      let started = "";
      await t.step("start runs, ignoring what the repo may not set, and shows what it did set", async () => {
        const r = await w.k(
          [
            "--log-level",
            "debug",
            "start",
            "repo-hostile",
            "--repo",
            "https://git.example.invalid/acme/api.git",
            "--no-wait",
          ],
          { env },
        );
        started = r.stdout + r.stderr;
        assertEquals(r.code, 0, r.stderr);
        assertEquals(leaks(started), [], started);
        for (
          const key of [
            "env.dotenvFiles",
            "git.caFile",
            "git.tokenEnv",
            "agent.authEnv",
            "portForward.address",
          ]
        ) {
          assertStringIncludes(r.stderr, `.kodama.yaml: ${key} ignored`);
        }
        assertStringIncludes(r.stderr, "settings from the repository's");
        assertStringIncludes(r.stderr, `defaults.image = "${SESSION_IMAGE}"`);
        assertStringIncludes(r.stderr, 'editor configs from ".kodama/configs": zellij-config.kdl');
      });
      await t.step(
        "no Secret, ConfigMap or pod holds anything planted; the user's own token is there",
        async () => {
          const objs = await w.kc([
            "get",
            "secrets,configmaps,pods",
            "-l",
            "kodama.dev/session=repo-hostile",
            "-o",
            "json",
          ]);
          assertEquals(objs.code, 0, objs.stderr);
          const all = decoded(objs.stdout);
          assertEquals(leaks(all), []);
          assertStringIncludes(all, "legit-token-from-the-user");
          assertStringIncludes(all, 'theme \\"dracula\\"');
        },
      );
      await t.step("nor kodama's state files", async () => {
        assertEquals(leaks(await walkText(w.home)), []);
      });
      await t.step(
        "a committed symlink in .kodama/configs out of the repository: refused, exit 4, nothing made",
        async () => {
          await Deno.symlink(
            join(home, ".ssh", "id_rsa"),
            join(w.cwd, ".kodama", "configs", "helix-config.toml"),
          );
          const r = await w.k(["start", "repo-hostile2", "--no-wait"], { env });
          assertEquals(r.code, 4, r.stderr);
          assertStringIncludes(r.stderr, "refusing to read editor config");
          assertStringIncludes(r.stderr, "outside the repository");
          assert(!hasStackTrace(r.stderr));
          assertEquals(leaks(r.stdout + r.stderr), []);
          const left = await w.kc([
            "get",
            "secrets,configmaps,pods",
            "-l",
            "kodama.dev/session=repo-hostile2",
            "-o",
            "name",
          ]);
          assertEquals(left.stdout.trim(), "");
          await Deno.remove(join(w.cwd, ".kodama", "configs", "helix-config.toml"));
        },
      );
      await t.step(
        "the user's own config names .env (relative): its committed link out is refused too",
        async () => {
          await Deno.writeTextFile(join(w.home, "config.yaml"), "env:\n  dotenvFiles: [.env]\n");
          await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "");
          const r = await w.k(["start", "repo-hostile3", "--dry-run"], { env });
          assertEquals(r.code, 4, r.stderr);
          assertStringIncludes(r.stderr, "refusing to read env file .env: it leads to");
          assertEquals(leaks(r.stdout + r.stderr), []);
        },
      );
    } finally {
      await purge(w, "repo-hostile");
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test({
  name:
    "files kodama reads: devices, FIFOs, directories, oversize and alias bombs get a clear error naming the file",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "kodama-bounded-" });
    const fifo = join(dir, "fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const kh = join(dir, "kh");
    await Deno.mkdir(kh);
    const { file: kc } = await closedPortKubeconfig(dir);
    const run = (args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) =>
      runKodama(args, {
        cwd: o.cwd ?? dir,
        env: { KODAMA_HOME: kh, HOME: dir, DENO_DIR, KUBECONFIG: kc, ...o.env },
        timeoutMs: 30_000,
      });
    const check = (r: { code: number; stderr: string }, code: number, ...parts: string[]) => {
      assertEquals(r.code, code, r.stderr);
      for (const p of parts) assertStringIncludes(r.stderr, p);
      assert(!hasStackTrace(r.stderr), r.stderr);
      assert(r.stderr.trim().split("\n").length <= 3, r.stderr);
    };
    try {
      await t.step(
        "--kubeconfig /dev/zero, a FIFO, KUBECONFIG lists with them: refused, not read",
        async () => {
          check(await run(["--kubeconfig", "/dev/zero", "pods"]), 2, "kubeconfig /dev/zero: it is a device");
          check(await run(["--kubeconfig", fifo, "version"]), 2, `kubeconfig ${fifo}: it is a FIFO`);
          check(
            await run(["--certificate-authority", "/dev/zero", "pods"]),
            2,
            "--certificate-authority /dev/zero: it is a device",
          );
          check(
            await run(["pods"], { env: { KUBECONFIG: `/dev/zero` } }),
            2,
            "kubeconfig /dev/zero: it is a device",
          );
          await Deno.writeTextFile(join(dir, "ok.kc"), "apiVersion: v1\nkind: Config\n");
          check(
            await run(["pods"], { env: { KUBECONFIG: `${join(dir, "ok.kc")}:${fifo}` } }),
            2,
            `kubeconfig ${fifo}: it is a FIFO`,
          );
          const big = join(dir, "big.kc");
          const f = await Deno.open(big, { write: true, create: true });
          await f.truncate(17 * 1024 * 1024);
          f.close();
          check(await run(["--kubeconfig", big, "pods"]), 2, `kubeconfig ${big}: it is larger than 16 MiB`);
        },
      );
      await t.step(
        "--env-file and --prompt-file: a device or FIFO is refused before any request",
        async () => {
          check(
            await run(["start", "x", "--dry-run", "--env-file", "/dev/zero"]),
            2,
            "env file /dev/zero: it is a device",
          );
          check(
            await run(["start", "x", "--dry-run", "--prompt-file", fifo]),
            2,
            `--prompt-file ${fifo}: it is a FIFO`,
          );
        },
      );
      await t.step("kodama run FIFO: refused, not blocked on", async () => {
        check(await run(["run", fifo]), 2, "not a regular file");
      });
      await t.step("a .kodama.yaml that is a directory, or a FIFO", async () => {
        const repo = join(dir, "repo");
        await Deno.mkdir(join(repo, ".git"), { recursive: true });
        await Deno.mkdir(join(repo, ".kodama.yaml"));
        check(
          await run(["config", "view"], { cwd: repo }),
          2,
          ".kodama.yaml: it is a directory, not a regular file",
        );
        check(await run(["pods"], { cwd: repo }), 2, ".kodama.yaml: it is a directory");
        await Deno.remove(join(repo, ".kodama.yaml"));
        await new Deno.Command("mkfifo", { args: [join(repo, ".kodama.yaml")] }).output();
        check(await run(["config", "view"], { cwd: repo }), 2, ".kodama.yaml: it is a FIFO");
      });
      await t.step("an alias bomb in config.yaml: an error naming the file", async () => {
        const lines = ["a: &a [x, x, x, x, x, x, x, x, x]"];
        for (let i = 1; i < 10; i++) {
          const prev = String.fromCharCode(96 + i);
          const cur = String.fromCharCode(97 + i);
          lines.push(
            `${cur}: &${cur} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`,
          );
        }
        await Deno.writeTextFile(join(kh, "config.yaml"), lines.join("\n") + "\n");
        try {
          check(await run(["config", "view"]), 2, "kh/config.yaml: invalid YAML");
          check(await run(["pods"]), 2, "kh/config.yaml: invalid YAML");
        } finally {
          await Deno.remove(join(kh, "config.yaml"));
        }
      });
      await t.step("an env-file line without = is a warning with its line number", async () => {
        await Deno.writeTextFile(join(dir, "w.env"), "A=1\nNOT_A_VARIABLE\nB=2\n");
        const r = await run(["start", "x", "--dry-run", "--env-file", "w.env"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "A: <redacted>");
        assert(!r.stdout.includes("NOT_A_VARIABLE"), r.stdout);
        assertStringIncludes(r.stderr, 'warning: w.env:2: "NOT_A_VARIABLE" is not NAME=value: ignored');
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
