/**
 * The sessions contract's flags and keys (seeds/002, #27): `-p` for `--prompt`, `defaults.env.excludeVars`
 * merged with a repo's `env.excludeVars`, and `KODAMA_CONFIG_DIR` as the config directory (`KODAMA_HOME` its
 * alias) for config and sessions alike.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { startCluster } from "../cluster/harness.ts";
import { podOf, purge, SESSION_IMAGE, sessionWorld, withSessionWorld } from "./_session.ts";
import { hasStackTrace } from "./_run.ts";

Deno.test({
  name:
    "contract: -p is --prompt; defaults.env.excludeVars and env.excludeVars both apply; KODAMA_CONFIG_DIR",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const c = await startCluster({ seed: "sessions" });
    const w = await sessionWorld(c);
    const dir = await Deno.makeTempDir({ prefix: "kodama-config-dir-" });
    try {
      await t.step("-p is --prompt (and so cannot go with --no-wait)", async () => {
        const r = await w.k(["start", "px", "-p", "fix it", "--no-wait", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "--prompt needs the session ready");
        assert(!hasStackTrace(r.stderr));
      });

      await t.step(
        "the global defaults.env.excludeVars and the repo's env.excludeVars are merged",
        async () => {
          await Deno.writeTextFile(
            join(w.home, "config.yaml"),
            "defaults:\n  env:\n    excludeVars: [GLOBAL_SECRET]\n",
          );
          await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "env:\n  excludeVars: [REPO_SECRET]\n");
          await Deno.writeTextFile(join(w.cwd, ".env"), "GLOBAL_SECRET=1\nREPO_SECRET=2\nKEPT=3\n");
          const r = await w.k([
            "start",
            "ex",
            "--env-file",
            ".env",
            "--dry-run",
            "-o",
            "json",
            "--image",
            SESSION_IMAGE,
          ]);
          assertEquals(r.code, 0, r.stderr);
          const list = JSON.parse(r.stdout);
          // deno-lint-ignore no-explicit-any
          const secret = list.items.find((o: any) =>
            o.kind === "Secret" && o.metadata.name === "kodama-env-ex"
          );
          assertEquals(Object.keys(secret.data ?? secret.stringData ?? {}).sort(), ["KEPT"]);
          await Deno.remove(join(w.cwd, ".kodama.yaml"));
          await Deno.remove(join(w.home, "config.yaml"));
        },
      );

      await t.step("KODAMA_CONFIG_DIR holds config and sessions; KODAMA_HOME is its alias", async () => {
        await Deno.writeTextFile(join(dir, "config.yaml"), `defaults:\n  image: ${SESSION_IMAGE}\n`);
        // KODAMA_HOME (the world's own) is set too: KODAMA_CONFIG_DIR wins
        const r = await w.k(["start", "cd"], { env: { KODAMA_CONFIG_DIR: dir } });
        assertEquals(r.code, 0, r.stderr);
        const state = await Deno.readTextFile(join(dir, "sessions", "cd.yaml"));
        assertStringIncludes(state, SESSION_IMAGE);
        const v = await w.k(["config", "get", "defaults.image"], { env: { KODAMA_CONFIG_DIR: dir } });
        assertEquals(v.stdout.trim(), SESSION_IMAGE);
        // the alias alone: the same directory
        const a = await w.k(["config", "get", "defaults.image"], { home: dir });
        assertEquals(a.stdout.trim(), SESSION_IMAGE);
      });

      await t.step(
        "session fetch of a session without a repository: kodama's line only, no raw git",
        async () => {
          const git = (args: string[]) =>
            new Deno.Command("git", { args, cwd: w.cwd, stdout: "null", stderr: "null" }).output();
          await git(["init", "-q"]);
          const r = await w.k(["session", "fetch", "cd"], { env: { KODAMA_CONFIG_DIR: dir } });
          assert(r.code !== 0, r.stderr);
          assert(!/fatal:/.test(r.stderr), r.stderr);
          assertEquals(r.stderr.split("\n").filter((l) => l.startsWith("error:")).length, 1, r.stderr);
        },
      );
    } finally {
      await purge(w, "cd");
      await w.cleanup();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await c.stop();
    }
  },
});

withSessionWorld(
  "--no-wait: a clone that fails is Failed once (no restart loop), a new start says delete; a local repository is sent first",
  {},
  async (t, w) => {
    // a failed clone fails the Job at once by its podFailurePolicy, which an API server before 1.26 drops: there
    // the Job makes the clone's pod again (docs/sessions.md, "Older clusters"), so these three steps are 1.26+'s
    const minor = Number(
      JSON.parse((await w.kc(["version", "-o", "json"])).stdout).serverVersion.minor.replace(/\D+$/, ""),
    );
    const older = minor < 26;
    try {
      await t.step({
        name: "the pod fails once: phase Failed, the clone container not restarted",
        ignore: older,
        fn: async () => {
          const r = await w.k([
            "start",
            "nw",
            "--repo",
            "git://127.0.0.1:9/nope.git",
            "--no-wait",
            "--image",
            SESSION_IMAGE,
          ]);
          assertEquals(r.code, 0, r.stderr);
          let phase = "";
          for (let i = 0; i < 100 && phase !== "Failed"; i++) {
            await new Promise((res) => setTimeout(res, 200));
            phase =
              (await w.kc(["get", "pod", await podOf(w, "nw"), "-o", "jsonpath={.status.phase}"])).stdout;
          }
          assertEquals(phase, "Failed");
          // fixed: proves the failed init container is not restarted in 2.5 s (no event to wait on)
          await new Promise((res) => setTimeout(res, 2500));
          const restarts = await w.kc([
            "get",
            "pod",
            await podOf(w, "nw"),
            "-o",
            "jsonpath={.status.initContainerStatuses[0].restartCount}",
          ]);
          assertEquals(restarts.stdout, "0");
          const l = await w.k(["list"]);
          assertStringIncludes(l.stdout, "Failed");
        },
      });

      await t.step({
        name: "start of the Failed name: exit 2, the hint says kodama delete (not attach)",
        ignore: older,
        fn: async () => {
          const r = await w.k(["start", "nw", "--image", SESSION_IMAGE]);
          assertEquals(r.code, 2, r.stderr);
          assertStringIncludes(r.stderr, "(Failed)");
          assertStringIncludes(r.stderr, "kodama delete nw");
          assertStringIncludes(r.stderr, "kodama start nw --replace");
          assert(!r.stderr.includes("attach"), r.stderr);
        },
      });

      await t.step({
        name: "start --replace: the Failed session goes, its volumes are reused, the new one runs",
        ignore: older,
        fn: async () => {
          const r = await w.k(["start", "nw", "--replace", "--image", SESSION_IMAGE]);
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, "replacing session nw (Failed)");
          assertStringIncludes(r.stderr, "reusing volume kodama-workspace-nw");
          const a = await w.k(["attach", "nw", "--command", "echo ok"]);
          assertEquals(a.stdout, "ok\n");
        },
      });

      await t.step(
        "a local repository with --no-wait: start returns once it is sent, and the clone takes it",
        async () => {
          const root = `${w.cwd}/local-nw`;
          await Deno.mkdir(root, { recursive: true });
          const git = (...args: string[]) =>
            new Deno.Command("git", { args, cwd: root, stdout: "null", stderr: "null" }).outputSync().success;
          assert(git("init", "-q", "-b", "main"));
          await Deno.writeTextFile(`${root}/only-here.txt`, "a commit no remote has\n");
          assert(git("add", "-A"));
          assert(git("-c", "user.name=me", "-c", "user.email=me@here", "commit", "-qm", "only here"));
          const r = await w.k(
            ["start", "ln", "--repo", ".", "--no-sync", "--no-wait", "--image", SESSION_IMAGE],
            { cwd: root },
          );
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, "session/ln created\n");
          assertStringIncludes(r.stderr, "sending the local repository to the pod first");
          assertStringIncludes(r.stderr, "not waiting (--no-wait)");
          // nothing of this process is left to send it: the pod gets ready on what was sent
          const ready = await w.kc([
            "wait",
            "--for=condition=Ready",
            `pod/${await podOf(w, "ln")}`,
            "--timeout=120s",
          ]);
          assertEquals(ready.code, 0, ready.stderr);
          const a = await w.k([
            "attach",
            "ln",
            "--command",
            "cat /workspace/only-here.txt; git -C /workspace log -1 --format=%s",
          ]);
          assertEquals(a.stdout, "a commit no remote has\nonly here\n", a.stderr);
        },
      );

      await t.step(
        "--no-wait whose clone never starts: exit 5 at --timeout, saying so, cleaned up as any failed start",
        async () => {
          const r = await w.k(
            [
              "start",
              "lt",
              "--repo",
              ".",
              "--no-sync",
              "--no-wait",
              "--timeout",
              "2s",
              "--image",
              "nope.invalid/x:1",
            ],
            { cwd: `${w.cwd}/local-nw` },
          );
          assertEquals(r.code, 5, r.stderr);
          assertStringIncludes(
            r.stderr,
            "session lt's clone never started, so its local repository was not sent",
          );
          assertStringIncludes(r.stderr, "start failed, cleaned up");
          assert(!hasStackTrace(r.stderr));
          // its Job and local state are gone (on a real cluster its pod may still be in its grace period)
          const job = await w.kc(["get", "job", "kodama-lt", "-o", "name"]);
          assertStringIncludes(job.stderr, "NotFound");
          assert(!(await Deno.stat(join(w.home, "sessions", "lt.yaml")).then(() => true, () => false)));
        },
      );
    } finally {
      await purge(w, "nw");
      await purge(w, "ln");
      await purge(w, "lt");
    }
  },
);
