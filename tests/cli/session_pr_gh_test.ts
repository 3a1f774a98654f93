/**
 * The real `gh` reads the pull request `kodama session pr` opened: the forge stand-in (tests/forge/_forge.ts)
 * serves https with a throw-away CA, as a GitHub Enterprise Server host `127.0.0.1:PORT` (REST under /api/v3,
 * GraphQL at /api/graphql), kodama opens the request with GH_ENTERPRISE_TOKEN (gh's own variable for such a
 * host), then `gh pr view 1 --json title,body,headRefName,baseRefName,isDraft -R HOST/acme/widget` must give
 * what kodama sent; gh with a wrong token is refused by the same stand-in. Skipped when gh is not installed
 * (Debian's `gh`; .ci/run installs it).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { generateCerts } from "../cluster/certs.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startForge } from "../forge/_forge.ts";

const GH = (() => {
  const r = new Deno.Command("sh", { args: ["-c", "command -v gh"], stdout: "piped", stderr: "null" })
    .outputSync();
  return r.success ? new TextDecoder().decode(r.stdout).trim() || undefined : undefined;
})();
if (!GH) console.log("session_pr_gh_test: skipped: the gh CLI is not installed (apt-get install gh)");

const NAME = "ghview";
const AGENT = `p=$(cat); printf '%s\\n' "$p" >> task.txt; git add task.txt; ` +
  `git -c user.name=agent -c user.email=agent@pod commit -qm "agent: task"; ` +
  `echo "Wrote task.txt" > "$KODAMA_SUMMARY_FILE"; echo agent: done`;

withSessionWorld(
  "session pr: the real gh reads, as an Enterprise Server host, the pull request kodama opened",
  { ignore: onRealCluster || !GH, timeoutMs: 6 * 60_000 },
  async (_t, w) => {
    const certs = await generateCerts(join(w.cwd, "certs"), {});
    const ca = join(w.cwd, "ca.pem");
    await Deno.writeTextFile(ca, certs.ca.cert);
    const forge = await startForge({ tls: certs.server });
    const project = join(w.cwd, "project");
    const git = async (args: string[], cwd = project) => {
      const r = await new Deno.Command("git", {
        args,
        cwd,
        env: { GIT_CONFIG_GLOBAL: "/dev/null" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
      return new TextDecoder().decode(r.stdout).trim();
    };
    try {
      const bare = await forge.addRepo("acme/widget");
      await git(["clone", "-q", bare, project], w.cwd);
      await git(["remote", "set-url", "origin", forge.gitUrl("acme/widget")]);
      const creds = join(w.cwd, "git-credentials");
      await Deno.writeTextFile(creds, `https://tester:${forge.gitPassword}@${forge.host}\n`, { mode: 0o600 });
      const globalCfg = join(w.cwd, "gitconfig");
      await Deno.writeTextFile(globalCfg, `[credential]\n\thelper = store --file ${creds}\n`);
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
          `forge:\n  hosts:\n    "${forge.host}": {type: github}\n`,
      );
      const s = await w.k(["start", NAME, "--repo", ".", "--no-sync", "--image", SESSION_IMAGE], {
        cwd: project,
      });
      assertEquals(s.code, 0, s.stderr);
      const run = await w.k(["agent", "run", NAME, "--prompt", "Teach gh to read this\nsecond line"]);
      assertEquals(run.code, 0, run.stderr);
      assertEquals((await w.k(["agent", "wait", NAME])).code, 0);
      // the forge's CA: Deno's fetch (DENO_CERT) and git (GIT_SSL_CAINFO, one of the push's user variables)
      const pr = await w.k(["session", "pr", NAME, "--draft"], {
        cwd: project,
        env: {
          GIT_CONFIG_GLOBAL: globalCfg,
          GH_ENTERPRISE_TOKEN: forge.token,
          GH_TOKEN: "",
          GITHUB_TOKEN: "",
          DENO_CERT: ca,
          GIT_SSL_CAINFO: ca,
        },
      });
      assertEquals(pr.code, 0, pr.stderr);
      assertEquals(pr.stdout, `pull request #1: ${forge.origin}/acme/widget/pull/1 (opened)\n`);
      const sent = forge.pulls.find((x) => x.kind === "github")!;
      assertStringIncludes(sent.body, "Teach gh to read this");

      const gh = async (token: string) => {
        const r = await new Deno.Command(GH!, {
          args: [
            "pr",
            "view",
            "1",
            "--json",
            "title,body,headRefName,baseRefName,isDraft",
            "-R",
            `${forge.host}/acme/widget`,
          ],
          env: {
            PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
            HOME: w.cwd,
            GH_CONFIG_DIR: join(w.cwd, "gh-config"),
            GH_ENTERPRISE_TOKEN: token,
            SSL_CERT_FILE: ca,
            GH_PROMPT_DISABLED: "1",
            GH_NO_UPDATE_NOTIFIER: "1",
            NO_COLOR: "1",
          },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
      };
      const view = await gh(forge.token);
      assertEquals(view.code, 0, view.stderr);
      assertEquals(JSON.parse(view.stdout), {
        title: "Teach gh to read this",
        body: sent.body,
        headRefName: `kodama/${NAME}`,
        baseRefName: "main",
        isDraft: true,
      });
      const refused = await gh("not-the-token");
      assert(refused.code !== 0, refused.stdout);
      assert(!refused.stdout.includes("Teach gh"), refused.stdout);
    } finally {
      await purge(w, NAME);
      await forge.close();
      await Deno.remove(forge.root, { recursive: true }).catch(() => {});
    }
  },
);
