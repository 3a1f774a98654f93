/**
 * `kodama ui` against the test server, as a user would use it: the security rules over plain HTTP (token,
 * the page's header credential (no cookie), Host, Origin, CSRF, WebSocket Origin, path traversal, no secrets), then in one headless Chromium
 * (Debian's chromium, driven by puppeteer-core): start a session, see it reach Running, type `echo hi` in
 * its terminal, run a (fake) agent and read its log and diff, resolve a sync conflict, the pods and
 * workflows pages, a group of 3 replicas side by side (diffstat, check, diff, adopt, keep one), delete the
 * session.
 * Screenshots of each page go to $KODAMA_SCREENSHOTS (default: a temporary directory the test prints).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { gitIn, makeTestRepo, podReachableRepo } from "./_git_server.ts";
import { podOf, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// functions handed to the page run there, where these exist
// deno-lint-ignore no-explicit-any
declare const document: any;
declare const requestAnimationFrame: (f: (t: number) => void) => void;
type Element = { textContent: string | null };

const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

const NAME = "webui";
const SECRET = "s3cr3t-value-never-in-the-browser-7781";

/** The fake agent: reads the prompt, prints, edits a file and commits (sh, cat, git only). */
const FAKE_AGENT = [
  `p=$(cat)`,
  `echo "agent: working on: $p"`,
  `printf '%s\\n' "$p" >> AGENT.md`,
  `git add AGENT.md && git -c user.name=Agent -c user.email=agent@example.com commit -qm "agent: edit AGENT.md"`,
  `echo "agent: committed $(git rev-parse --short HEAD)"`,
].join("\n");

/**
 * The group's fake agent (`start --replicas 3`): replica 1 writes "good 1" (1 file, +1), replica 2 "bad 2" and
 * extra.txt (2 files, +3), replica 3 "good 3" and a final message. Each waits for .go first, so the page is
 * seen with its agents running, then follows them to the end without a reload.
 */
const GROUP_AGENT = [
  `p=$(cat)`,
  `echo "agent $KODAMA_REPLICA of $KODAMA_GROUP: $p"`,
  `echo .go >> .git/info/exclude`,
  `while [ ! -f .go ]; do sleep 0.2; done`,
  `case "$KODAMA_REPLICA" in`,
  `1) echo "good 1" > result.txt ;;`,
  `2) echo "bad 2" > result.txt; printf 'x\\ny\\n' > extra.txt ;;`,
  `*) echo "good $KODAMA_REPLICA" > result.txt; echo "chose the final answer" > "$KODAMA_SUMMARY_FILE" ;;`,
  `esac`,
  `git add -A . && git -c user.name=Agent -c user.email=agent@example.com commit -qm "replica $KODAMA_REPLICA"`,
].join("\n");
const GROUP_CHECK = "cat result.txt; grep -q good result.txt";
const GROUP = "webgrp";

/** A raw HTTP request (headers as given, path as written): what a browser or an attacker could send. */
async function raw(port: number, lines: string[]): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const buf = new Uint8Array(65536);
    let text = "";
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      // a short body follows its headers: read until it is all there
      const m = /content-length: (\d+)/i.exec(text.slice(0, end));
      if (m && text.length - end - 4 < Number(m[1])) continue;
      break;
    }
    return text;
  } finally {
    conn.close();
  }
}

withSessionWorld(
  "kodama ui: security over HTTP, then sessions in Chromium (start, terminal, agent, diff, conflict, delete)",
  { ignore: !hasChromium, timeoutMs: 600_000 },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ??
      await Deno.makeTempDir({ prefix: "kodama-ui-shots-" });
    await Deno.mkdir(shots, { recursive: true });
    console.log(`screenshots: ${shots}`);
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    // what the session pods clone: the bare repository here; on a real cluster, a git daemon they reach
    const served = await podReachableRepo(repo, onRealCluster);
    // the directory kodama ui runs in is a clone of the session's repository: session fetch lands there
    await gitIn(["clone", "-q", repo.bare, "."], w.cwd);
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(FAKE_AGENT)}]\n`,
    );
    await Deno.writeTextFile(join(w.cwd, ".env"), `API_TOKEN=${SECRET}\n`);
    await Deno.mkdir(join(w.cwd, ".kodama", "workflows"), { recursive: true });
    await Deno.writeTextFile(
      join(w.cwd, ".kodama", "workflows", "greet.yaml"),
      "description: greet someone from this machine\n" +
        "params:\n  who: { required: true, description: whom to greet }\n" +
        "permissions: { run: [echo] }\n" +
        'steps:\n  - id: hello\n    local: { command: [echo, "hello ${{ params.who }}"] }\n',
    );
    // the test repository lives outside the project kodama ui runs in: granted, as a user would
    const ui = w.spawn(["ui", "--allow-path", repo.dir]);
    const { text: first, rest } = await readUntil(ui.stdout, /\n/);
    rest.releaseLock();
    const loginUrl = first.trim();
    assertMatch(loginUrl, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const base = new URL(loginUrl);
    const port = Number(base.port);
    const origin = `http://127.0.0.1:${port}`;
    const token = base.searchParams.get("token")!;
    // the page's credential: the session credential and CSRF token of a page opened with the token
    let authorization = "";
    let csrf = "";
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      await t.step("every /api request needs the credential: none or a wrong one gets 401", async () => {
        for (const path of ["/api/info", "/api/events", "/api/sessions"]) {
          const r = await fetch(origin + path);
          assertEquals(r.status, 401, path);
          await r.body?.cancel();
          const bad = await fetch(origin + path, { headers: { authorization: `Bearer ${"0".repeat(48)}` } });
          assertEquals(bad.status, 401, path);
          await bad.body?.cancel();
          // the printed token is not a session credential
          const tok = await fetch(origin + path, { headers: { authorization: `Bearer ${token}` } });
          assertEquals(tok.status, 401, path);
          await tok.body?.cancel();
        }
        const wrong = await fetch(`${origin}/?token=${"0".repeat(48)}`, { redirect: "manual" });
        assertEquals(wrong.status, 401);
        await wrong.body?.cancel();
        // the shell without the token holds no credential (it is the bundle's page, nothing more)
        const shell = await (await fetch(origin + "/")).text();
        assert(!/kodama-session|csrf-token/.test(shell), shell);
      });

      await t.step("the token gets the page a credential of its own, in the page; no cookie", async () => {
        const r = await fetch(loginUrl, { redirect: "manual" });
        assertEquals(r.status, 200);
        assertEquals(r.headers.get("set-cookie"), null, "no cookie: browsers send cookies to every port");
        const html = await r.text();
        assertStringIncludes(html, '<script type="module" src="/assets/app.js">');
        assert(!html.includes(token), "the printed token is not in the page");
        const session = /<meta name="kodama-session" content="([0-9a-f]{48})">/.exec(html)?.[1];
        csrf = /<meta name="csrf-token" content="([0-9a-f]{48})">/.exec(html)?.[1] ?? "";
        assert(session && csrf, html);
        authorization = `Bearer ${session}`;
        const ok = await fetch(origin + "/api/info", { headers: { authorization } });
        assertEquals(ok.status, 200);
        await ok.body?.cancel();
      });

      await t.step("Host and Origin are checked (DNS rebinding, cross-site requests)", async () => {
        const evilHost = await raw(port, [
          "GET /api/info HTTP/1.1",
          "Host: evil.example:" + port,
          `Authorization: ${authorization}`,
        ]);
        assertMatch(evilHost, /^HTTP\/1\.1 403/);
        const r = await fetch(origin + "/api/info", {
          headers: { authorization, origin: "http://evil.example" },
        });
        assertEquals(r.status, 403);
        await r.body?.cancel();
        const ok = await fetch(origin + "/api/info", { headers: { authorization, origin } });
        assertEquals(ok.status, 200);
        assertEquals((await ok.json()).namespace, "dev");
      });

      await t.step("a mutating request needs the CSRF token", async () => {
        const r = await fetch(`${origin}/api/sessions/${NAME}/stop`, {
          method: "POST",
          headers: { authorization, origin, "content-type": "application/json" },
          body: "{}",
        });
        assertEquals(r.status, 403);
        assertStringIncludes(await r.text(), "CSRF");
        const bad = await fetch(`${origin}/api/sessions/${NAME}/stop`, {
          method: "POST",
          headers: { authorization, origin, "x-csrf-token": "f".repeat(48) },
        });
        assertEquals(bad.status, 403);
        await bad.body?.cancel();
      });

      await t.step(
        "a WebSocket needs a one-time ticket and this page's Origin",
        async () => {
          const ticket = async () => {
            const r = await fetch(`${origin}/api/ticket`, {
              method: "POST",
              headers: { authorization, origin, "x-csrf-token": csrf },
            });
            assertEquals(r.status, 200);
            return (await r.json()).ticket as string;
          };
          const ws = (t: string | undefined, o?: string) =>
            raw(port, [
              `GET /api/sessions/${NAME}/terminal${t ? `?ticket=${t}` : ""} HTTP/1.1`,
              `Host: 127.0.0.1:${port}`,
              `Authorization: ${authorization}`,
              "Upgrade: websocket",
              "Connection: Upgrade",
              "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
              ...(o ? [`Origin: ${o}`] : []),
            ]);
          assertMatch(await ws(await ticket(), "http://evil.example"), /^HTTP\/1\.1 403/);
          assertMatch(await ws(await ticket(), `http://localhost.evil.example:${port}`), /^HTTP\/1\.1 403/);
          assertMatch(await ws(await ticket()), /^HTTP\/1\.1 403/);
          // the header is no way in for a WebSocket: a ticket is (once)
          assertMatch(await ws(undefined, origin), /^HTTP\/1\.1 401/);
          assertMatch(await ws("0".repeat(48), origin), /^HTTP\/1\.1 401/);
          const one = await ticket();
          assertMatch(await ws(one, origin), /^HTTP\/1\.1 101/);
          assertMatch(await ws(one, origin), /^HTTP\/1\.1 401/);
        },
      );

      await t.step("only bundled assets are served: path traversal gets 404", async () => {
        for (
          const path of [
            "/assets/../../../../etc/passwd",
            "/assets/..%2f..%2f..%2fetc%2fpasswd",
            "/assets/%2e%2e/%2e%2e/deno.json",
            "/assets/../server.ts",
            "/../../etc/passwd",
            "/assets/",
            "/assets/constructor",
            "/src/web/server.ts",
          ]
        ) {
          const r = await raw(port, [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`]);
          assertMatch(r, /^HTTP\/1\.1 404/, path);
          assert(!r.includes("root:") && !r.includes('"imports"'), path);
        }
        const js = await fetch(origin + "/assets/app.js");
        assertEquals(js.status, 200);
        assertMatch(js.headers.get("content-type") ?? "", /javascript/);
        await js.body?.cancel();
        // a page loaded again revalidates: the bundle's tag gets 304 and no body, another tag the asset
        const tag = js.headers.get("etag")!;
        assertMatch(tag, /^"[0-9a-f]{32}"$/);
        const again = await fetch(origin + "/assets/app.js", { headers: { "if-none-match": tag } });
        assertEquals([again.status, await again.text()], [304, ""]);
        const stale = await fetch(origin + "/assets/app.js", { headers: { "if-none-match": '"0"' } });
        assertEquals(stale.status, 200);
        await stale.body?.cancel();
      });

      const puppeteer = (await import("puppeteer-core")).default;
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1360, height: 860 });
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
      // a script error in the page fails the test (the last step), whatever the steps saw
      const pageErrors: string[] = [];
      // deno-lint-ignore no-explicit-any
      page.on("pageerror", (e: any) => pageErrors.push(String(e?.message ?? e)));
      const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
      // a finished operation's panel (bottom right; a successful one leaves by itself after 6 s) can cover
      // what a step clicks next: close the finished ones first, as a user would, then click
      const click = async (sel: string) => {
        await page.$$eval(".op.ok .x, .op.bad .x", (bs: { click(): void }[]) => bs.forEach((b) => b.click()));
        await page.waitForSelector(sel, { timeout: 30_000 });
        await page.click(sel);
      };
      // Type into a field once it is rendered. A click on a tab link changes the hash, and the hashchange
      // event (so the render) comes a task later: typing at once raced it (CI, stop 41).
      const typeInto = async (sel: string, text: string) => {
        await page.waitForSelector(sel, { timeout: 30_000 }).catch(async (e: Error) => {
          const shown = await page.$eval("main", (m: Element) => m.textContent?.slice(0, 300)).catch(() =>
            ""
          );
          throw new Error(`${sel} never appeared (${e.message}); the page showed: ${shown}`);
        });
        await page.type(sel, text);
      };
      const waitText = (sel: string, re: RegExp, timeout = 120_000) =>
        page.waitForFunction(
          (s: string, src: string) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ""),
          { timeout, polling: 100 },
          sel,
          re.source,
        );

      await t.step("the page opens with the token; the list is live", async () => {
        await page.goto(loginUrl);
        assertEquals(new URL(page.url()).search, "", "the token left the address bar");
        await page.waitForSelector(".live.on");
        await waitText("main", /No sessions in this namespace/);
        await shot("01-sessions-empty");
      });

      await t.step(
        "another local listener (a port-forward's web server) gets no credential of the UI",
        async () => {
          // what a pod's web server behind `kodama port-forward` on 127.0.0.1 would see of this browser
          const seen: string[] = [];
          const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
            seen.push(
              `${req.method} ${req.url}\n${[...req.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`,
            );
            return new Response("<!doctype html><title>pod app</title><p>a pod's web app</p>", {
              headers: { "content-type": "text/html" },
            });
          });
          try {
            const at = other.addr.port;
            const kept = await page.evaluate("sessionStorage.getItem('kodama-ui')") as string;
            const { session, csrf: pageCsrf } = JSON.parse(kept);
            assert(session && pageCsrf, kept);
            // from the UI's page: credentialed requests to the other port, by fetch and by an image
            await page.evaluate(`(async () => {
            await fetch("http://127.0.0.1:${at}/fetch", { mode: "no-cors", credentials: "include" }).catch(() => {});
            await new Promise((r) => {
              const img = new Image();
              img.onload = img.onerror = r;
              img.src = "http://127.0.0.1:${at}/img";
            });
          })()`);
            // and the other listener opened in a tab of the same browser, by both loopback names
            const tab = await browser.newPage();
            await tab.goto(`http://127.0.0.1:${at}/tab`);
            await tab.goto(`http://localhost:${at}/tab2`);
            // the pod's page cannot read the UI's storage: another port is another origin
            assertEquals(await tab.evaluate("sessionStorage.length + localStorage.length"), 0);
            // a tab of the UI opened without the token has no credential, and says how to get one
            await tab.goto(`${origin}/#/sessions`);
            await tab.waitForSelector("#no-credential");
            assertStringIncludes(
              await tab.$eval("#no-credential", (e: Element) => e.textContent ?? ""),
              "open the URL `kodama ui` printed",
            );
            await tab.close();
            assert(seen.length >= 4, seen.join("\n---\n"));
            for (const r of seen) {
              assert(!/^(cookie|authorization|x-csrf-token):/im.test(r), r);
              for (const v of [token, session, pageCsrf]) assert(!r.includes(v), r);
            }
            await shot("01b-sessions-after-other-listener");
          } finally {
            await other.shutdown();
          }
        },
      );

      await t.step("start a session from the dialog; it reaches Running", async () => {
        await click("#new-session");
        await typeInto("input[name=name]", NAME);
        await typeInto("input[name=repo]", served.url);
        await typeInto("input[name=image]", SESSION_IMAGE);
        await typeInto("input[name=envFiles]", ".env");
        await typeInto("input[name=sync]", ".");
        await shot("02-start-dialog");
        await click("#start-form button[type=submit]");
        await page.waitForSelector(`tr[data-session=${NAME}]`, { timeout: 60_000 });
        await waitText(`tr[data-session=${NAME}] .pill`, /^Running$/, 180_000);
        await waitText(`tr[data-session=${NAME}]`, /Active/, 60_000);
        await shot("03-sessions-running");
      });

      await t.step("no secret value reaches the browser", async () => {
        const html = await page.content();
        assert(!html.includes(SECRET));
        // the printed token is not in the page; no cookie at all
        assert(!html.includes(token));
        assertEquals(await page.evaluate("document.cookie"), "");
        for (const p of [`/api/sessions/${NAME}`, `/api/sessions/${NAME}/sync`, "/api/info"]) {
          const body = await (await fetch(origin + p, { headers: { authorization } })).text();
          assert(!body.includes(SECRET), p);
        }
        const one = await (await fetch(`${origin}/api/sessions/${NAME}`, { headers: { authorization } }))
          .json();
        assertEquals(one.envVars, ["API_TOKEN"]);
      });

      await t.step("its terminal: type `echo hi`, read hi back", async () => {
        await click(`tr[data-session=${NAME}] a.name`);
        await page.waitForSelector(".term[data-state=connected]", { timeout: 60_000 });
        await click(".term");
        await page.keyboard.type("echo h''i\n");
        await page.waitForFunction(
          () =>
            [...document.querySelectorAll(".xterm-rows > div")].some((r: Element) =>
              r.textContent?.trim() === "hi"
            ),
          { timeout: 30_000, polling: 100 },
        );
        await shot("04-terminal");
      });

      await t.step("run the (fake) agent: its log streams, its diff shows the file", async () => {
        await click("a[data-tab=agent]");
        await typeInto("#agent-prompt", "add the line zq-ui-4711");
        await click("#run-agent");
        await waitText("#run-log", /agent: committed [0-9a-f]+/, 60_000);
        assertStringIncludes(
          await page.$eval("#run-log", (e: Element) => e.textContent),
          "working on: add the line",
        );
        await waitText(`.agent`, /succeeded/, 60_000);
        await shot("05-agent");
        await click("a[data-tab=diff]");
        await waitText("#diff", /AGENT\.md/, 60_000);
        await waitText("#diff", /zq-ui-4711/);
        await shot("06-diff");
        // one button: session fetch, the pod's commits onto kodama/NAME of the local clone
        await click("#fetch");
        await page.waitForSelector(`.op.ok[data-op="fetch ${NAME}"]`, { timeout: 60_000 });
        assertEquals(
          await gitIn(["log", "-1", "--format=%s", `kodama/${NAME}`], w.cwd),
          "agent: edit AGENT.md",
        );
        // and one more: session land, the same commits onto the checked-out branch
        await click("#land");
        await page.waitForSelector(`.op.ok[data-op="land ${NAME}"]`, { timeout: 120_000 });
        assertEquals(await gitIn(["log", "-1", "--format=%s", "HEAD"], w.cwd), "agent: edit AGENT.md");
      });

      await t.step("a sync conflict: view both versions, keep the pod's", async () => {
        assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
        const r = await w.k(["attach", NAME, "--command", "echo pod-version > c.txt"]);
        assertEquals(r.code, 0, r.stderr);
        await Deno.writeTextFile(join(w.cwd, "c.txt"), "local-version\n");
        assertEquals((await w.k(["sync", "start", NAME])).code, 0);
        await click("a[data-tab=sync]");
        await page.waitForSelector('tr[data-conflict="c.txt"]', { timeout: 120_000 });
        await shot("07-sync-conflict");
        await click('tr[data-conflict="c.txt"] button');
        await waitText("#local-version", /local-version/, 30_000);
        await waitText("#pod-version", /pod-version/, 30_000);
        await shot("08-conflict-both");
        await click("#keep-pod");
        await page.waitForSelector("#no-conflicts", { timeout: 60_000 });
        assertEquals(await Deno.readTextFile(join(w.cwd, "c.txt")), "pod-version\n");
      });

      const search = async (q: string) => {
        await click("#pod-search");
        await page.keyboard.down("Control");
        await page.keyboard.press("a");
        await page.keyboard.up("Control");
        await page.keyboard.press("Backspace");
        await typeInto("#pod-search", q);
      };
      await t.step(
        "pods: fzf search with the picker's matcher, logs, an exec terminal, a port-forward",
        async () => {
          // the session's pod is its Job's (kodama-webui-xxxxx): found by the session's label
          const pod = await podOf(w, NAME);
          await click("a[href='#/pods']");
          await page.waitForSelector(`tr[data-pod=${pod}]`, { timeout: 30_000 });
          // a narrow window (800 px): every column's name is whole (READY, RESTARTS were cut), the node goes
          await page.setViewport({ width: 800, height: 860 });
          await page.evaluate(() =>
            new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
          );
          const heads = await page.evaluate(() =>
            [...document.querySelectorAll(".pods-table th")]
              // deno-lint-ignore no-explicit-any
              .filter((th: any) => th.offsetParent !== null)
              // deno-lint-ignore no-explicit-any
              .map((th: any) => `${th.textContent}${th.scrollWidth > th.clientWidth + 0.5 ? " (cut)" : ""}`)
          );
          await page.setViewport({ width: 1360, height: 860 });
          assertEquals(heads, ["Name", "Ready", "Status", "Restarts", "Age"]);
          // user dev may list pods in dev only: every namespace is refused, in one clear line
          await click("input[type=checkbox]");
          await waitText(".banner.bad", /forbidden/i, 30_000);
          await click("input[type=checkbox]");
          await page.waitForSelector(`tr[data-pod=${pod}]`, { timeout: 30_000 });
          // fzf's syntax and scoring: a fuzzy term, a negation; then an anchored term that matches nothing
          await search("kdwbu !zzz");
          await page.waitForFunction(
            (n: string) =>
              document.querySelectorAll("tbody tr[data-pod]").length === 1 &&
              !!document.querySelector(`tr[data-pod=${n}] mark`),
            { timeout: 10_000, polling: 50 },
            pod,
          );
          assertEquals(
            await page.$$eval(
              `tr[data-pod=${pod}] mark`,
              (ms: Element[]) => ms.map((m) => m.textContent).join(""),
            ),
            "kdwbu",
          );
          await shot("10-pods-search");
          await search("^webui");
          await waitText("main", /Nothing matches/, 10_000);
          await search(`'${pod}$`);
          await page.waitForSelector(`tr[data-pod=${pod}]`, { timeout: 10_000 });
          await click(`tr[data-pod=${pod}]`);
          await page.waitForSelector("#pod-log");
          await click("#pod-panel a[data-tab=exec]");
          await page.waitForSelector("#pod-panel .term[data-state=connected]", { timeout: 30_000 });
          await click("#pod-panel .term");
          await page.keyboard.type("echo p''od-$((6*7))\n");
          await page.waitForFunction(
            () =>
              [...document.querySelectorAll("#pod-panel .xterm-rows > div")].some((r: Element) =>
                r.textContent?.trim() === "pod-42"
              ),
            { timeout: 30_000, polling: 100 },
          );
          await shot("11-pod-exec");
          await click("#pod-panel a[data-tab=forward]");
          await typeInto("#pf-ports", ":8080");
          await click(".forward-form button");
          await page.waitForSelector("#forwards tr[data-forward]", { timeout: 30_000 });
          await shot("12-pod-forward");
          const list = await w.k(["port-forward", "list", "-o", "json"]);
          assertEquals(JSON.parse(list.stdout).length, 1, list.stdout);
          await click("#forwards tr[data-forward] button");
          await page.waitForFunction(() => !document.querySelector("#forwards tr[data-forward]"), {
            timeout: 30_000,
            polling: 100,
          });
        },
      );

      await t.step("workflows: an untrusted one runs only after the trust dialog is confirmed", async () => {
        await click("a[href='#/workflows']");
        await page.waitForSelector("button[data-workflow=greet]", { timeout: 30_000 });
        await click("button[data-workflow=greet]");
        await typeInto("input[name=who]", "web");
        await click("#run-workflow");
        await page.waitForSelector("#trust-dialog");
        await waitText("#trust-lines", /run: echo/);
        await shot("13-workflow-trust");
        await click("#trust-cancel");
        assertEquals(await page.$("#workflow-output"), null, "nothing ran without the confirmation");
        await click("#run-workflow");
        await page.waitForSelector("#trust-accept");
        await click("#trust-accept");
        await waitText("#workflow-output", /hello web/, 60_000);
        await waitText(".run-out .log-head", /succeeded/, 60_000);
        await shot("14-workflow-run");
        // trusted now: the next run asks nothing
        await click("#run-workflow");
        await waitText(".run-out .log-head", /running|succeeded/, 30_000);
        assertEquals(await page.$("#trust-dialog"), null);
      });

      await t.step(
        "a group of 3: grouped in the list; side by side with diffstat and check, live; diff; adopt; keep one",
        async () => {
          const k = (args: string[]) => w.k(args, { cwd: repo.work });
          await Deno.writeTextFile(join(repo.work, ".git", "info", "exclude"), ".go\n.kodama.yaml\n");
          await Deno.writeTextFile(
            join(repo.work, ".kodama.yaml"),
            `agent:\n  command: [sh, -c, ${JSON.stringify(GROUP_AGENT)}]\n  check: ${
              JSON.stringify(GROUP_CHECK)
            }\n`,
          );
          const started = await k([
            "start",
            GROUP,
            "--repo",
            served.url,
            "--image",
            SESSION_IMAGE,
            "--replicas",
            "3",
            "--prompt",
            "make result.txt good",
          ]);
          assertEquals(started.code, 0, started.stderr);
          await click("a[href='#/sessions']");
          await page.waitForSelector(`tr.group-row[data-group=${GROUP}]`, { timeout: 60_000 });
          // the replicas follow their group's row, in replica order
          await page.waitForFunction(
            (g: string) =>
              [...document.querySelectorAll("tbody tr")].map((r: { dataset: Record<string, string> }) =>
                r.dataset.group ?? r.dataset.session
              ).join(" ").includes(`${g} ${g}-1 ${g}-2 ${g}-3`),
            { timeout: 30_000, polling: 100 },
            GROUP,
          );
          await waitText(`tr.group-row[data-group=${GROUP}]`, /3 replicas/, 60_000);
          // the runs `start --prompt` began from the CLI reach the list, no page opened for them: the
          // workspace volume records each run started and the list's watch sees it
          for (const i of [1, 2, 3]) {
            await waitText(`tr[data-session=${GROUP}-${i}] .agent`, /^run 1 · running$/, 60_000);
          }
          await waitText(`tr.group-row[data-group=${GROUP}]`, /3 running/, 30_000);
          await shot("15-sessions-group");
          await click(`tr.group-row[data-group=${GROUP}] a.button`);
          await page.waitForFunction(() => document.querySelectorAll("article.replica").length === 3, {
            timeout: 30_000,
            polling: 100,
          });
          const card = (i: number) => `article[data-replica=${GROUP}-${i}]`;
          for (const i of [1, 2, 3]) {
            await waitText(`${card(i)} [data-field=agent]`, /^running/, 60_000);
            await waitText(`${card(i)} [data-field=check]`, /^pending$/, 60_000);
          }
          const go = await Promise.all(
            [1, 2, 3].map((i) => k(["attach", `${GROUP}-${i}`, "--command", "touch .go"])),
          );
          for (const r of go) assertEquals(r.code, 0, r.stderr);
          // pushed, not reloaded: each card reaches its result
          const field = (i: number, f: string) =>
            page.$eval(
              `${card(i)} [data-field=${f}]`,
              (e: Element) => e.textContent?.replace(/\s+/g, " ").trim(),
            );
          for (const i of [1, 2, 3]) {
            await waitText(`${card(i)} [data-field=check]`, /passed|failed/, 120_000);
          }
          assertEquals(await field(1, "check"), "passed");
          assertEquals(await field(2, "check"), "failed (1)");
          assertEquals(await field(3, "check"), "passed");
          assertEquals(await field(1, "diffstat"), "1 file +1 −0");
          assertEquals(await field(2, "diffstat"), "2 files +3 −0");
          assertEquals(await field(3, "diffstat"), "1 file +1 −0");
          assertMatch((await field(2, "agent"))!, /^succeeded · \d+s$/);
          assertEquals(await field(3, "commits"), "1");
          await waitText(`${card(2)} pre.tail`, /^bad 2$/);
          await waitText(`${card(3)} pre.summary`, /^chose the final answer$/);
          await shot("16-group");
          // a replica's diff, drawn per file
          await click(`${card(2)} button[data-action=diff]`);
          await waitText("#group-diff", /extra\.txt/, 30_000);
          await waitText("#group-diff", /bad 2/);
          await shot("17-group-diff");
          // adopt: the same function as `kodama adopt`, into the directory kodama ui runs in
          await click(`${card(3)} button[data-action=adopt]`);
          await page.waitForSelector(`.op.ok[data-op="adopt ${GROUP}-3"]`, { timeout: 60_000 });
          assertEquals(await gitIn(["log", "-1", "--format=%s", `kodama/${GROUP}`], w.cwd), "replica 3");
          assertEquals(await gitIn(["show", `kodama/${GROUP}:result.txt`], w.cwd), "good 3");
          // keep one: a dialog names what goes, then `delete --group --keep`
          await click(`${card(3)} button[data-action=keep]`);
          await page.waitForSelector("#group-delete-dialog");
          await waitText("#group-delete-dialog h2", new RegExp(`^Delete 2 sessions of group ${GROUP}\\?$`));
          await waitText("#group-delete-dialog p", new RegExp(`${GROUP}-1, ${GROUP}-2 go`));
          await shot("18-group-delete-dialog");
          await click("#confirm-group-delete");
          await page.waitForSelector(`.op.ok[data-op="delete group ${GROUP} (keep ${GROUP}-3)"]`, {
            timeout: 120_000,
          });
          // the kept replica's page; the others leave the cluster (waited for, not slept on)
          await waitText(".session-head h1", new RegExp(`^${GROUP}-3$`), 30_000);
          const deadline = Date.now() + 120_000;
          let pods = "";
          for (;;) {
            pods = (await w.kc(["get", "pods", "-o", "name"])).stdout;
            if (!/kodama-webgrp-[12]\b/.test(pods) || Date.now() > deadline) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          assert(!/kodama-webgrp-[12]\b/.test(pods), pods);
          assertStringIncludes(pods, `pod/kodama-${GROUP}-3`);
        },
      );

      await t.step(
        "a narrow window (800 px): the list fits, a row's status and agent run are whole",
        async () => {
          await click("a[href='#/sessions']");
          await waitText(`tr[data-session=${NAME}] .agent`, /succeeded/, 60_000);
          await page.setViewport({ width: 800, height: 860 });
          await page.evaluate(() =>
            new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
          );
          const m = await page.evaluate((n: string) => {
            const table = document.querySelector(".grid.sessions")!;
            const row = document.querySelector(`tr[data-session=${n}]`)!;
            // deno-lint-ignore no-explicit-any
            const cut = (el: any) => !el || el.scrollWidth > el.clientWidth + 0.5;
            return {
              fits: table.scrollWidth <= table.getBoundingClientRect().width + 0.5,
              status: cut(row.querySelector(".pill")?.parentElement ?? null),
              agent: cut(row.querySelector(".agent")?.closest("td") ?? null),
              text: row.querySelector(".agent")?.textContent,
            };
          }, NAME);
          await shot("19-sessions-800px");
          await page.setViewport({ width: 1360, height: 860 });
          assert(m.fits, "the sessions table is wider than the window at 800 px");
          assert(!m.status, "the status cell is cut at 800 px");
          assert(!m.agent, `the agent cell (${m.text}) is cut at 800 px`);
        },
      );

      await t.step("delete it with confirmation (and its volumes): it leaves the list", async () => {
        await click("a[href='#/sessions']");
        await page.waitForSelector(`tr[data-session=${NAME}]`);
        await click(`tr[data-session=${NAME}] button[data-action=delete]`);
        await page.waitForSelector("#delete-dialog");
        await click("#delete-dialog input[name=purge]");
        await shot("09-delete-dialog");
        await click("#confirm-delete");
        await page.waitForFunction(
          (n: string) => !document.querySelector(`tr[data-session=${n}]`),
          { timeout: 120_000, polling: 100 },
          NAME,
        );
        const pvcs = await w.kc(["get", "pvc", "-o", "name"]);
        assert(!pvcs.stdout.includes(`workspace-${NAME}`), pvcs.stdout);
      });
      await t.step("no script error was raised in the page", () => {
        assertEquals(pageErrors, []);
      });
    } finally {
      await browser?.close().catch(() => {});
      await served.close();
      try {
        ui.kill("SIGINT");
      } catch { /* exited */ }
      const st = await ui.status;
      assertEquals(st.code, 0, "kodama ui ends cleanly on Ctrl-C");
      await ui.stderr.cancel().catch(() => {});
      await w.k(["delete", NAME, "--force", "--purge"]).catch(() => {});
      await w.k(["delete", GROUP, "--group", "--force", "--purge"]).catch(() => {});
      // the replicas "keep only this" deleted kept their volumes (as delete does): a real cluster's
      // namespace outlives this test, so they go too
      for (const i of [1, 2]) await w.k(["delete", `${GROUP}-${i}`, "--force", "--purge"]).catch(() => {});
    }
  },
);
