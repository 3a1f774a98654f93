/**
 * `start --repo`, black-box, as the restricted `dev` user in namespace `dev`: a local bare repository
 * (test-cluster pods are local processes, so its path reaches them) with `main` and `feature`, the
 * automatic branch, `--branch`, resume without a second clone, `--repo .`, a failed clone with git's own
 * words, and an HTTPS git server that requires the token from `.env` — which must be nowhere but the
 * credentials Secret.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { gitIn, makeTestRepo, startGitHttps } from "./_git_server.ts";
import { podOf, purge, runScanningPs, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { podFsInfo } from "../cluster/runtime/podns.ts";

const TOKEN = "ghp_test123";
const b64 = (s: string) => btoa(s);

withSessionWorld(
  "sessions: start --repo clones onto an automatic branch, --branch, resume keeps the workspace",
  {
    ignore: onRealCluster,
    // fifteen starts and resumes: ~2.5 min on a quiet machine, over 5 min at load 30 (the mid-session run)
    timeoutMs: 12 * 60_000,
  },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    try {
      await Deno.mkdir(join(w.cwd, ".kodama", "configs"), { recursive: true });
      await Deno.writeTextFile(join(w.cwd, ".kodama/configs/helix-config.toml"), 'theme = "onedark"\n');
      await Deno.writeTextFile(join(w.cwd, ".kodama/configs/helix-languages.toml"), "[[language]]\n");
      await Deno.writeTextFile(join(w.cwd, ".kodama/configs/zellij-config.kdl"), "pane_frames false\n");
      await t.step("start s --repo: the clone is on kodama/s-<UTC timestamp> from main", async () => {
        const r = await w.k(["start", "s", "--repo", repo.bare, "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stderr, /cloned .*repo\.git: branch kodama\/s-\d{14} at [0-9a-f]{12}/);
        const b = await w.sh("s", "git branch --show-current");
        assertEquals(b.code, 0, b.stderr);
        assertMatch(b.stdout, /^kodama\/s-\d{14}\n$/);
        const head = await w.sh("s", "git rev-parse HEAD; cat README.md");
        assertEquals(head.stdout, `${repo.main}\nhello\n`);
      });

      await t.step(
        "editor configs land where Helix and Zellij look, as files on the home volume",
        async () => {
          const r = await w.sh(
            "s",
            'cd "$HOME/.config" && for f in helix/config.toml helix/languages.toml zellij/config.kdl; do [ -f $f ] && [ ! -L $f ] && cat $f; done',
          );
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, 'theme = "onedark"\n[[language]]\npane_frames false\n');
        },
      );

      await t.step("list shows BRANCH; get and -o json show branch and commit", async () => {
        const l = await w.k(["list"]);
        assertEquals(l.code, 0, l.stderr);
        assertMatch(l.stdout, /^NAME\s+NAMESPACE\s+STATUS\s+SYNC\s+BRANCH\s+READY\s+OWNER\s+AGE$/m);
        assertMatch(l.stdout, /^s\s+dev\s+Running\s+\S+\s+kodama\/s-\d{14}\s+/m);
        const g = await w.k(["session", "get", "s"]);
        assertStringIncludes(g.stdout, `Commit:      ${repo.main}`);
        assertMatch(g.stdout, /Branch:\s+kodama\/s-\d{14}/);
        const j = JSON.parse((await w.k(["list", "-o", "json"])).stdout);
        assertEquals(j.items[0].status.commit, repo.main);
        const ann = await w.kc([
          "get",
          "pvc",
          "kodama-workspace-s",
          "-o",
          "jsonpath={.metadata.annotations.kodama\\.dev/commit}",
        ]);
        assertEquals(ann.stdout, repo.main);
      });

      await t.step("--branch feature checks out feature", async () => {
        const r = await w.k([
          "start",
          "f",
          "--repo",
          repo.bare,
          "--branch",
          "feature",
          "--image",
          SESSION_IMAGE,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const b = await w.sh("f", "git branch --show-current; git rev-parse HEAD");
        assertEquals(b.stdout, `feature\n${repo.feature}\n`);
      });

      await t.step(
        "resume after stop does not clone again: a file survives, the log says skipped",
        async () => {
          const wr = await w.sh("f", "echo keep > keep.txt && git checkout -q -b mine");
          assertEquals(wr.code, 0, wr.stderr);
          assertEquals((await w.k(["stop", "f"])).code, 0);
          const r = await w.k(["resume", "f"]);
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, "workspace kept (no new clone): branch mine");
          const cat = await w.sh("f", "cat keep.txt; git branch --show-current");
          assertEquals(cat.stdout, "keep\nmine\n");
          const log = await w.kc(["logs", await podOf(w, "f"), "-c", "git-clone"]);
          assertMatch(log.stdout, /kodama: \S*workspace is not empty: clone skipped/);
          assert(!/cloning/.test(log.stdout), log.stdout);
          const l = await w.k(["list"]);
          assertMatch(l.stdout, /^f\s+dev\s+Running\s+\S+\s+mine\s+/m);
        },
      );

      await t.step(
        "--repo . sends this repository (all branches and tags) and branches off the current one",
        async () => {
          // the pod cannot see this machine's paths: the repository travels over exec as a bundle
          await gitIn(["checkout", "-q", "feature"], repo.work);
          await gitIn(["tag", "v-dot"], repo.work);
          const r = await w.k(["start", "dot", "--repo", ".", "--image", SESSION_IMAGE], { cwd: repo.work });
          assertEquals(r.code, 0, r.stderr);
          const b = await w.sh(
            "dot",
            "git branch --show-current; git rev-parse HEAD; git branch --list main feature --format='%(refname:short)'; git tag; git remote",
          );
          const [branch, head, ...rest] = b.stdout.trim().split("\n");
          assertMatch(branch, /^kodama\/dot-\d{14}$/);
          assertEquals(head, repo.feature);
          // the upstream is a path on this machine: no origin a pod could use
          assertEquals(rest, ["feature", "main", "v-dot"]);
          const f = await w.k(["session", "fetch", "dot"], { cwd: repo.work });
          assertEquals(f.code, 0, f.stderr);
        },
      );

      await t.step("--repo PATH with an https upstream: that is the pod's origin", async () => {
        const other = join(repo.dir, "other");
        await gitIn(["clone", "-q", repo.bare, other], repo.dir);
        await gitIn(["remote", "set-url", "origin", "https://git.example.com/team/r.git"], other);
        const r = await w.k([
          "start",
          "up",
          "--repo",
          other,
          "--branch",
          "feature",
          "--image",
          SESSION_IMAGE,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const b = await w.sh("up", "git branch --show-current; git remote get-url origin");
        assertEquals(b.stdout, "feature\nhttps://git.example.com/team/r.git\n");
      });

      await t.step("a repository that does not exist: exit 2 before any request", async () => {
        const r = await w.k(["start", "bad", "--repo", join(repo.dir, "nope.git"), "--image", SESSION_IMAGE]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /no such directory .*nope\.git/);
        assert(!hasStackTrace(r.stderr));
      });

      await t.step("a clone that fails: exit 1 with git's words, once; nothing left behind", async () => {
        const r = await w.k([
          "start",
          "bad",
          "--repo",
          "git://127.0.0.1:9/nope.git",
          "--image",
          SESSION_IMAGE,
        ]);
        assertEquals(r.code, 1, r.stderr);
        assertMatch(
          r.stderr,
          /the clone of git:\/\/127\.0\.0\.1:9\/nope\.git failed \(container git-clone, exit code 128\)/,
        );
        assertMatch(r.stderr, /fatal: unable to connect/);
        assert(!hasStackTrace(r.stderr));
        // the rollback deletes them (the pod with a 1 s grace, the PVCs then behind pvc-protection) without
        // waiting: gone within moments, however loaded the machine
        let left = "";
        await waitUntil(
          async () => {
            left =
              (await w.kc(["get", "pods,secrets,pvc", "-l", "kodama.dev/session=bad", "-o", "name"])).stdout;
            return left.trim() === "";
          },
          30_000,
          "the failed start's objects to be gone",
        ).catch((e) => {
          throw new Error(`${(e as Error).message}; still there: ${left.trim()}`);
        });
        assertEquals(left.trim(), "");
      });

      await t.step("a branch the local repository lacks: exit 2 before any request", async () => {
        const r = await w.k([
          "start",
          "nob",
          "--repo",
          repo.bare,
          "--branch",
          "nope",
          "--image",
          SESSION_IMAGE,
        ]);
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /has no branch nope/);
      });

      await t.step("--branch missing on the remote with --base-branch: created from the base", async () => {
        const r = await w.k([
          "start",
          "nb",
          "--repo",
          repo.bare,
          "--branch",
          "topic",
          "--base-branch",
          "feature",
          "--image",
          SESSION_IMAGE,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const b = await w.sh("nb", "git branch --show-current; git rev-parse HEAD");
        assertEquals(b.stdout, `topic\n${repo.feature}\n`);
      });

      await t.step("bad input fails before any request: a URL with credentials, a bad branch", async () => {
        const u = await w.k(["start", "x", "--repo", "https://me:pw@example.com/r.git"]);
        assertEquals(u.code, 2);
        assertMatch(u.stderr, /--repo must not carry credentials/);
        const b = await w.k(["start", "x", "--repo", repo.bare, "--branch", "bad..name"]);
        assertEquals(b.code, 2);
        assertMatch(b.stderr, /invalid --branch "bad\.\.name"/);
        const n = await w.k(["start", "x", "--branch", "main"]);
        assertEquals(n.code, 2);
        assertMatch(n.stderr, /--branch and --base-branch need --repo/);
      });

      await t.step("delete removes the session; the clone container is part of its pod", async () => {
        for (const s of ["s", "f", "dot", "up", "bad", "nob", "nb"]) await purge(w, s);
        const left = await w.kc(["get", "pods,secrets,pvc", "-o", "name"]);
        assert(!/kodama-/.test(left.stdout), left.stdout);
      });
    } finally {
      for (const s of ["s", "f", "dot", "up", "bad", "nob", "nb"]) await purge(w, s);
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);

withSessionWorld(
  "sessions: an HTTPS clone with the token from .env; the token is in the credentials Secret only",
  { ignore: onRealCluster },
  async (t, w) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-https-" });
    const repo = await makeTestRepo(dir);
    const server = await startGitHttps(dir, TOKEN, join(dir, "certs"));
    const url = `${server.origin}/repo.git`;
    try {
      await Deno.writeTextFile(join(w.cwd, ".env"), `GITHUB_TOKEN=${TOKEN}\nOTHER=1\n`);
      await Deno.writeTextFile(join(w.cwd, "ca.pem"), server.ca);
      await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "git:\n  caFile: ca.pem\n");

      await t.step("start --repo https://…: cloned with the token; no process ever shows it", async () => {
        const child = w.spawn([
          "--log-level",
          "debug",
          "start",
          "h",
          "--repo",
          url,
          "--env-file",
          ".env",
          "--image",
          SESSION_IMAGE,
        ]);
        const { code, stdout, stderr, snapshots: seen } = await runScanningPs(child);
        assertEquals(code, 0, stderr);
        assert(seen.length > 0);
        for (const ps of seen) {
          assert(!ps.includes(TOKEN), "the token is in a process's arguments");
        }
        assertStringIncludes(stderr, "note: GITHUB_TOKEN goes into the git credentials Secret only");
        for (const text of [stdout, stderr]) {
          assert(!text.includes(TOKEN) && !text.includes(b64(TOKEN)), "the token is in the output");
        }
        assert(server.requests.some((r) => r.auth === "ok"), JSON.stringify(server.requests));
        const b = await w.sh("h", "git branch --show-current; cat README.md");
        assertMatch(b.stdout, /^kodama\/h-\d{14}\nhello\n$/);
      });

      await t.step("the token is in the credentials Secret and nowhere else", async () => {
        const cred = await w.kc(["get", "secret", "kodama-git-h", "-o", "jsonpath={.data.credentials}"]);
        assertEquals(atob(cred.stdout), `https://x-access-token:${TOKEN}@${new URL(url).host}\n`);
        const env = await w.kc(["get", "secret", "kodama-env-h", "-o", "json"]);
        assertEquals(Object.keys(JSON.parse(env.stdout).data), ["OTHER"]);
        const rest = await w.kc(["get", "pod,pvc,configmap", "-o", "yaml"]);
        assert(!rest.stdout.includes(TOKEN) && !rest.stdout.includes(b64(TOKEN)));
        const inPod = await w.sh(
          "h",
          "cat .git/config; env; git config --global -l; ps -eo args 2>/dev/null || true",
        );
        assertEquals(inPod.code, 0, inPod.stderr);
        assertStringIncludes(inPod.stdout, `url = ${url}`);
        assert(!inPod.stdout.includes(TOKEN), "the token is in .git/config, the env or a process");
        const state = await Deno.readTextFile(join(w.home, "sessions", "h.yaml"));
        assert(!state.includes(TOKEN) && !state.includes(b64(TOKEN)), state);
        const get = await w.k(["--log-level", "debug", "session", "get", "h", "-o", "yaml"]);
        assert(!get.stdout.includes(TOKEN) && !get.stderr.includes(TOKEN));
      });

      await t.step("git in the session fetches with the token (the helper reads the Secret)", async () => {
        const f = await w.sh("h", "git fetch origin feature && git log -1 --format=%H FETCH_HEAD");
        assertEquals(f.code, 0, f.stderr);
        assertEquals(f.stdout.trim(), repo.feature);
      });

      await t.step("--dry-run shows the credentials Secret with its values redacted", async () => {
        const r = await w.k(["start", "dry", "--repo", url, "--env-file", ".env", "--dry-run", "-o", "yaml"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "name: kodama-git-dry");
        assertStringIncludes(r.stdout, "credentials: <redacted>");
        assert(!r.stdout.includes(TOKEN) && !r.stdout.includes(b64(TOKEN)));
      });

      await t.step("without the token the server refuses: exit 1 with git's words", async () => {
        const r = await w.k(["start", "noauth", "--repo", url, "--no-sync", "--image", SESSION_IMAGE], {
          env: { GITHUB_TOKEN: "" },
        });
        assertEquals(r.code, 1, r.stderr);
        assertMatch(r.stderr, /fatal: (could not read Username|Authentication failed)/);
      });

      await t.step("git.authMethod token without a token: exit 2 naming the variable", async () => {
        await Deno.writeTextFile(
          join(w.cwd, ".kodama.yaml"),
          "git:\n  caFile: ca.pem\n  authMethod: token\n",
        );
        const r = await w.k(["start", "x", "--repo", url], { env: { GITHUB_TOKEN: "" } });
        assertEquals(r.code, 2, r.stderr);
        assertMatch(r.stderr, /GITHUB_TOKEN is not set/);
      });
    } finally {
      for (const s of ["h", "noauth"]) await purge(w, s);
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

/**
 * A stand-in for the ssh transport (first on the pods' PATH): it records how git called it and the key
 * file it was given (mode and contents), then runs the remote command here, as sshd would on the server.
 * Everything kodama does for SSH — the Secret mounted, the key copied with mode 0600, core.sshCommand
 * with accept-new or the Secret's known_hosts — is real; only the network hop is not.
 */
function fakeSsh(log: string): string {
  return [
    `#!/bin/sh`,
    `key=""; prev=""`,
    `for a in "$@"; do [ "$prev" = -i ] && key="$a"; prev="$a"; done`,
    `for last in "$@"; do :; done`,
    `{ echo "args: $*"; echo "mode: $(stat -c %a "$key")"; echo "key: $(cat "$key")"; } >> "$HOME/${log}"`,
    `exec sh -c "$last"`,
  ].join("\n") + "\n";
}

withSessionWorld(
  "sessions: an ssh clone with the key from git.secretName (mode 0600 copy, accept-new or known_hosts)",
  { ignore: onRealCluster },
  async (t, w) => {
    const c = w.c;
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    // the fake ssh logs into the home volume, which the clone container and the session share
    const log = "ssh.log";
    const bin = join(c.testServer!.stateDir, "runtime", "bin");
    const readLog = async (s: string) => (await w.sh(s, `cat "$HOME/${log}"`)).stdout;
    try {
      await Deno.mkdir(bin, { recursive: true });
      await Deno.writeTextFile(join(bin, "ssh"), fakeSsh(log), { mode: 0o755 });
      await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "git:\n  secretName: git-ssh\n");
      // the "server" side runs in the pod: the repository must be where a pod sees it (the shared bin dir)
      await gitIn(["clone", "-q", "--bare", repo.bare, join(bin, "repo.git")], repo.dir);
      const served = podFsInfo().mode === "namespace"
        ? "/.kodama/shared-bin/repo.git"
        : join(bin, "repo.git");
      const url = `git@git.example.com:${served}`;

      await t.step("no known_hosts in the Secret: StrictHostKeyChecking=accept-new", async () => {
        const s = await w.kc([
          "create",
          "secret",
          "generic",
          "git-ssh",
          "--from-literal=ssh-privatekey=FAKE-KEY-4711",
        ]);
        assertEquals(s.code, 0, s.stderr);
        const r = await w.k(["start", "k", "--repo", url, "--branch", "feature", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        const seen = await readLog("k");
        assertMatch(
          seen,
          /args: -i \S*\/run\/kodama\/ssh\/id -o IdentitiesOnly=yes -o UserKnownHostsFile=\S+\/\.ssh\/known_hosts -o StrictHostKeyChecking=accept-new .*git@git\.example\.com/,
        );
        assertMatch(seen, /^mode: 600$/m);
        assertMatch(seen, /^key: FAKE-KEY-4711$/m);
        const b = await w.sh("k", "git branch --show-current; git fetch -q origin main && echo fetched");
        assertEquals(b.stdout, "feature\nfetched\n", b.stderr);
        const pod = await w.kc(["get", "pod", await podOf(w, "k"), "-o", "json"]);
        const spec = JSON.parse(pod.stdout).spec;
        assert(!pod.stdout.includes("FAKE-KEY-4711"));
        assertEquals(
          spec.volumes.find((v: { name: string }) => v.name === "git-ssh").secret,
          {
            secretName: "git-ssh",
            defaultMode: 0o400,
          },
        );
      });

      await t.step("known_hosts in the Secret: StrictHostKeyChecking=yes against it", async () => {
        await w.kc(["delete", "secret", "git-ssh"]);
        const s = await w.kc([
          "create",
          "secret",
          "generic",
          "git-ssh",
          "--from-literal=ssh-privatekey=FAKE-KEY-4711",
          "--from-literal=known_hosts=git.example.com ssh-ed25519 AAAA",
        ]);
        assertEquals(s.code, 0, s.stderr);
        const r = await w.k(["start", "kh", "--repo", url, "--no-sync", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(
          await readLog("kh"),
          /-o UserKnownHostsFile=\S*\/etc\/kodama\/ssh\/known_hosts -o StrictHostKeyChecking=yes /,
        );
      });

      await t.step("git.authMethod ssh without git.secretName: exit 2 before any request", async () => {
        await Deno.writeTextFile(join(w.cwd, ".kodama.yaml"), "git:\n  authMethod: ssh\n");
        const r = await w.k(["start", "x", "--repo", url]);
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "git.secretName is not set");
      });
    } finally {
      for (const s of ["k", "kh"]) await purge(w, s);
      await w.kc(["delete", "secret", "git-ssh"]).catch(() => {});
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
