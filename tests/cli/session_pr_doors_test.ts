/**
 * `session pr` through its doors: the MCP tool `session_pr` (the real SDK client against `kodama mcp`) and the
 * web UI's `POST /api/sessions/NAME/pr` (the real `kodama ui`, its token and CSRF), both calling the feature
 * function the CLI calls, against the test server and the forge stand-in (tests/forge/_forge.ts):
 *  - a caller names only the session, draft or ready, and a title: `token`, `remote`, `apiUrl`, `host`, `base`,
 *    `force` or `cwd` is refused by the tool's schema, nothing reaches the forge; the title is one line (control
 *    characters, a bidi override, a bell gone) of at most 200 characters; the token is in no result;
 *  - the repository's remote, which an agent could edit, pointed at a host the user did not name in
 *    forge.hosts (a `pushurl` to a `github.*` host, a `remote.pushDefault` to a `gitlab.*` host in scp form,
 *    github.com itself), or a named host's remote downgraded to http:// (the token in clear), is refused
 *    (exit 4) before any token is read or request made;
 *  - the web UI opens and updates the same request, and takes nothing but draft/ready and a title from a page;
 *    in Chromium (when installed), the Diff tab's draft box and Open pull request button do it;
 *  - a stopped session: the tool's error names `kodama resume NAME` first.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { spawnKodama } from "./_run.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { startMcp, transcript } from "./_mcp.ts";
import { startForge } from "../forge/_forge.ts";

// page functions run in the browser
// deno-lint-ignore no-explicit-any
declare const document: any;

const NAME = "door";
const CHROMIUM = (() => {
  const p = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
  try {
    return Deno.statSync(p).isFile ? p : undefined;
  } catch {
    return undefined;
  }
})();
const SHOTS = Deno.env.get("KODAMA_SCREENSHOTS") ?? "/tmp";
const AGENT = `p=$(cat); printf '%s\\n' "$p" >> task.txt; git add task.txt; ` +
  `git -c user.name=agent -c user.email=agent@pod commit -qm "agent: task"; echo agent: done`;

withSessionWorld(
  "session pr through MCP and the web UI: only name, draft/ready and title; only a forge the user named",
  { ignore: onRealCluster, timeoutMs: 8 * 60_000 },
  async (t, w) => {
    const forge = await startForge();
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
    let ui: Deno.ChildProcess | undefined;
    let login = "";
    const events = new AbortController();
    try {
      const bare = await forge.addRepo("acme/widget");
      await git(["clone", "-q", bare, project], w.cwd);
      await git(["remote", "set-url", "origin", forge.gitUrl("acme/widget")]);
      const creds = join(w.cwd, "git-credentials");
      await Deno.writeTextFile(creds, `http://tester:${forge.gitPassword}@${forge.host}\n`, { mode: 0o600 });
      const globalCfg = join(w.cwd, "gitconfig");
      await Deno.writeTextFile(globalCfg, `[credential]\n\thelper = store --file ${creds}\n`);
      await Deno.writeTextFile(
        join(w.home, "config.yaml"),
        `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n` +
          // an API on http (the stand-in's) only as the user names it
          `forge:\n  hosts:\n    "${forge.host}": {type: github, apiUrl: "${forge.origin}/api/v3"}\n` +
          `    git.internal.example: {type: gitlab}\n`,
      );
      const userEnv = {
        KODAMA_HOME: w.home,
        GIT_CONFIG_GLOBAL: globalCfg,
        GH_TOKEN: forge.token,
        GH_ENTERPRISE_TOKEN: "",
        GITHUB_TOKEN: "",
        GITHUB_ENTERPRISE_TOKEN: "",
        KODAMA_KEYS_STORE: "file",
      };
      const s = await w.k(["start", NAME, "--repo", ".", "--no-sync", "--image", SESSION_IMAGE], {
        cwd: project,
      });
      assertEquals(s.code, 0, s.stderr);
      const run = await w.k(["agent", "run", NAME, "--prompt", "Door task\nsecond line"]);
      assertEquals(run.code, 0, run.stderr);
      assertEquals((await w.k(["agent", "wait", NAME])).code, 0);
      const mcp = await startMcp(w.c.kubeconfig, ["--context", "dev"], { cwd: project, env: userEnv });
      const apiCalls = () => forge.requests.filter((x) => x.path.startsWith("/api/")).length;
      const pulls = () => forge.pulls.filter((x) => x.kind === "github");

      try {
        await t.step("MCP: the tool takes name, draft/ready and title; nothing else gets in", async () => {
          const listed = (await mcp.listTools()).tools.find((x) => x.name === "session_pr");
          assert(listed, "session_pr is listed");
          const props = Object.keys((listed.inputSchema as { properties: object }).properties).sort();
          assertEquals(props, ["context", "draft", "name", "namespace", "ready", "title"]);
          const before = forge.requests.length;
          for (
            const extra of [
              { token: "evil-token" },
              { remote: "https://github.evil.example/x/y.git" },
              { apiUrl: "https://evil.example/api/v3" },
              { host: "evil.example" },
              { base: "main" },
              { force: true },
              { cwd: "/" },
            ]
          ) {
            const r = await mcp.call("session_pr", { name: NAME, ...extra });
            assert(r.isError, `${JSON.stringify(extra)} was taken: ${r.text}`);
          }
          assertEquals(forge.requests.length, before, "a refused call reached the forge");
          assertEquals(pulls().length, 0);
        });

        await t.step(
          "MCP: a remote on a host the user did not name is refused before any request",
          async () => {
            const before = forge.requests.length;
            const plants: [string, string][][] = [
              [["remote.origin.pushurl", "http://github.localhost:1/acme/widget.git"]],
              [["remote.pushDefault", "evil"], [
                "remote.evil.url",
                "git@gitlab.evil.example:acme/widget.git",
              ]],
              // even github.com: through a door, only a host the user named
              [["remote.origin.url", "https://github.com/evil/widget.git"]],
              // a named host, downgraded to http: the token would travel in clear
              [["remote.origin.pushurl", "http://git.internal.example/acme/widget.git"]],
            ];
            for (const plant of plants) {
              for (const [k, v] of plant) await git(["config", k, v]);
              try {
                const r = await mcp.call("session_pr", { name: NAME });
                assert(r.isError, `${JSON.stringify(plant)}: ${r.text}`);
                const why = plant === plants.at(-1)
                  ? /over http:\/\//
                  : /is not a forge you named in forge\.hosts/;
                assertMatch(r.text, new RegExp(`${why.source}.*\\(exit 4\\)`, "s"));
              } finally {
                for (const [k] of plant) await git(["config", "--unset", k]).catch(() => "");
                await git(["config", "remote.origin.url", forge.gitUrl("acme/widget")]);
              }
            }
            assertEquals(forge.requests.length, before, "the forge (or its token) was reached");
            assertEquals(pulls().length, 0);
          },
        );

        await t.step("MCP: opened with a title made one short line, then updated", async () => {
          const title = "Door \x1b[31mtitle\x1b[0m\u202e\x07\nnext " + "y".repeat(400);
          const r = await mcp.call("session_pr", { name: NAME, title, draft: true });
          assert(!r.isError, r.text);
          assertEquals([r.data.number, r.data.action], [1, "opened"]);
          assertMatch(r.data.url, /\/acme\/widget\/pull\/1$/);
          const p = pulls();
          assertEquals(p.length, 1);
          assertEquals([p[0].head, p[0].base, p[0].draft], [`kodama/${NAME}`, "main", true]);
          assert(p[0].title.startsWith("Door [31mtitle [0m next yyy"), p[0].title);
          assertEquals([...p[0].title].length, 200);
          // deno-lint-ignore no-control-regex
          assert(!/[\x00-\x1f\x7f\u202e]/.test(p[0].title), JSON.stringify(p[0].title));
          assertStringIncludes(p[0].body, "Door task");
          const again = await mcp.call("session_pr", { name: NAME, ready: true });
          assert(!again.isError, again.text);
          assertEquals(again.data.action, "updated");
          assertEquals(pulls().length, 1);
          for (const x of transcript) assert(!x.includes(forge.token), "a result showed the token");
        });

        await t.step(
          "web UI: Open pull request updates it; a page gives only draft/ready and a title",
          async () => {
            ui = spawnKodama(["--kubeconfig", w.c.kubeconfig, "--context", "dev", "ui"], {
              cwd: project,
              env: userEnv,
            });
            const { text: first, rest } = await readUntil(ui.stdout, /\n/);
            rest.releaseLock();
            login = first.trim();
            const origin = new URL(login).origin;
            const page = await (await fetch(login)).text();
            const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(page)?.[1] ?? "";
            const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)?.[1] ?? "";
            assert(session && csrf, "the page carries its credentials");
            const authorization = `Bearer ${session}`;
            const ends = new Map<number, { code: number; error?: string; text: string }>();
            const stream = await fetch(`${origin}/api/events`, {
              headers: { authorization },
              signal: events.signal,
            });
            const arrived = new Set<() => void>();
            (async () => {
              const dec = new TextDecoder();
              let buf = "";
              for await (const c of stream.body!) {
                buf += dec.decode(c, { stream: true });
                for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
                  const ev = buf.slice(0, i);
                  buf = buf.slice(i + 2);
                  if (!ev.startsWith("event: op")) continue;
                  const d = JSON.parse(ev.slice(ev.indexOf("data: ") + 6));
                  if (d.done) {
                    ends.set(d.id, d);
                    for (const f of arrived) f();
                  }
                }
              }
            })().catch(() => {});
            const post = async (body: unknown) => {
              const r = await fetch(`${origin}/api/sessions/${NAME}/pr`, {
                method: "POST",
                headers: { authorization, origin, "x-csrf-token": csrf, "content-type": "application/json" },
                body: JSON.stringify(body),
              });
              const j = await r.json();
              assertEquals(r.status, 202, JSON.stringify(j));
              while (!ends.has(j.op)) await new Promise<void>((res) => arrived.add(res));
              return ends.get(j.op)!;
            };
            const before = apiCalls();
            await git(["config", "remote.origin.pushurl", "http://github.localhost:1/acme/widget.git"]);
            const evil = await post({ token: "evil", apiUrl: "http://evil.example" });
            await git(["config", "--unset", "remote.origin.pushurl"]);
            assertEquals(evil.code, 4, JSON.stringify(evil));
            assertMatch(evil.error ?? "", /is not a forge you named in forge\.hosts/);
            assertEquals(apiCalls(), before);
            const end = await post({
              title: "Web\ttitle\u0007",
              draft: true,
              token: "evil",
              apiUrl: "http://evil.example",
              base: "nope",
              force: true,
            });
            assertEquals(end.code, 0, JSON.stringify(end));
            assertMatch(end.text, /pull request #1: \S+\/acme\/widget\/pull\/1 \(updated\)/);
            const p = pulls();
            assertEquals([p.length, p[0].title, p[0].base], [1, "Web title", "main"]);
            assert(!JSON.stringify(end).includes(forge.token), "the page saw the token");
            assert(forge.requests.every((x) => x.auth !== "bad"), "another token reached the forge");
          },
        );

        await t.step({
          name: "web UI in Chromium: the Diff tab's Open pull request button",
          ignore: !CHROMIUM,
          fn: async () => {
            const puppeteer = (await import("puppeteer-core")).default;
            const browser = await puppeteer.launch({
              executablePath: CHROMIUM,
              headless: true,
              args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            });
            try {
              const page = await browser.newPage();
              await page.setViewport({ width: 1280, height: 800 });
              await page.goto(login);
              await page.waitForSelector(".live.on");
              await page.evaluate((n: string) => location.hash = `#/sessions/${n}/diff`, NAME);
              await page.waitForSelector("#open-pr", { timeout: 30_000 });
              const updates = pulls()[0].updates;
              // the page lists the operations the API step ran too: wait for one more
              const sel = `.op.ok[data-op="pull request ${NAME}"]`;
              const done = await page.$$eval(sel, (e: unknown[]) => e.length);
              await page.click("#pr-draft");
              await page.click("#open-pr");
              await page.waitForFunction(
                (s: string, n: number) => document.querySelectorAll(s).length > n,
                { timeout: 60_000, polling: 100 },
                sel,
                done,
              );
              await page.screenshot({ path: join(SHOTS, "ui-session-pr.png") });
              assertEquals(pulls()[0].updates, updates + 1);
              assertEquals(pulls().length, 1);
            } finally {
              await browser.close();
            }
          },
        });

        await t.step("a stopped session: the tool's error names what to run first", async () => {
          assertEquals((await w.k(["stop", NAME])).code, 0);
          const r = await mcp.call("session_pr", { name: NAME });
          assert(r.isError, r.text);
          assertStringIncludes(r.text, `session ${NAME} is stopped`);
          assertStringIncludes(r.text, `kodama resume ${NAME} && kodama session pr ${NAME}`);
        });
      } finally {
        await mcp.close();
      }
    } finally {
      events.abort();
      if (ui) {
        ui.kill("SIGTERM");
        await ui.status;
      }
      await purge(w, NAME);
      await forge.close();
      await Deno.remove(forge.root, { recursive: true }).catch(() => {});
    }
  },
);
