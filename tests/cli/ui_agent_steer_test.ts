/**
 * Issue 65 in `kodama ui`: the agent tab's message box, Interrupt, Continue and Retry, driven in headless
 * Chromium against a session running the real Claude Code (the default preset) on the model-API stand-in.
 * A message said while the turn is held reaches the running conversation; Interrupt ends the turn as
 * interrupted; Continue goes on with the conversation; Retry runs the latest run's prompt again. Screenshots
 * of the tab at 1280 and 800 px wide go to $KODAMA_SCREENSHOTS (default: a temporary directory it prints).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo } from "./_git_server.ts";
import { purge, readUntil, withSessionWorld } from "./_session.ts";
import { startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";

// deno-lint-ignore no-explicit-any
declare const document: any;

const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

withSessionWorld(
  "kodama ui agent tab: say, Interrupt, Continue, Retry with the real Claude Code",
  {
    ignore: !hasChromium || onRealCluster || missing("claude", CLAUDE),
    timeoutMs: 8 * 60_000,
  },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ??
      await Deno.makeTempDir({ prefix: "kodama-ui-shots-" });
    await Deno.mkdir(shots, { recursive: true });
    console.log(`screenshots: ${shots}`);
    const api = await startStandIn();
    const env = { ANTHROPIC_API_KEY: "sk-ant-standin-6567", ANTHROPIC_BASE_URL: api.url };
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const task = join(w.cwd, "task.txt");
    await Deno.writeTextFile(task, "Tidy the parser.\n");
    const texts = () => api.mainRequests().map((r) => r.text);
    let release = api.hold();
    const ui = w.spawn(["ui"]);
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      const started = await w.k(["start", "st", "--repo", ".", "--prompt-file", task], {
        cwd: repo.work,
        env,
      });
      assertEquals(started.code, 0, started.stderr);
      await api.waitFor(() => api.held() > 0);
      const { text: first, rest } = await readUntil(ui.stdout, /\n/);
      rest.releaseLock();
      const loginUrl = first.trim();
      const puppeteer = (await import("puppeteer-core")).default;
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      const pageErrors: string[] = [];
      // deno-lint-ignore no-explicit-any
      page.on("pageerror", (e: any) => pageErrors.push(String(e?.message ?? e)));
      const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
      // a wait that times out says what the page showed instead
      const waitText = (sel: string, re: RegExp, timeout = 120_000) =>
        page.waitForFunction(
          (s: string, src: string) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ""),
          { timeout, polling: 100 },
          sel,
          re.source,
        ).catch(async (e: Error) => {
          const now = await page.$eval(sel, (n: { textContent: string }) => n.textContent).catch(() =>
            "(none)"
          );
          throw new Error(`${sel} never matched ${re} (${e.message}); it read: ${now}`);
        });
      const enabled = (sel: string) =>
        page.waitForFunction((s: string) => document.querySelector(s)?.disabled === false, {
          timeout: 120_000,
        }, sel);
      const click = async (sel: string) => {
        await page.$$eval(".op.ok .x, .op.bad .x", (bs: { click(): void }[]) => bs.forEach((b) => b.click()));
        await enabled(sel);
        await page.click(sel);
      };

      await t.step(
        "the agent tab of a running run: a message goes into the running conversation",
        async () => {
          await page.goto(loginUrl);
          await page.waitForSelector(".live.on");
          await page.goto(new URL("#/sessions/st/agent", loginUrl).href);
          await page.waitForSelector("#agent-say", { timeout: 60_000 });
          await enabled("#interrupt-agent");
          assertEquals(await page.$eval("#continue-agent", (b: { disabled: boolean }) => b.disabled), true);
          await page.type("#agent-say", "please also cover the error path");
          await shot("steer-1280");
          await page.setViewport({ width: 800, height: 800 });
          await shot("steer-800");
          await page.setViewport({ width: 1280, height: 800 });
          await click("#say-agent");
          // the turn is held: the message is not in the conversation yet, and is said to be queued (issue 84)
          await waitText("#steer-note", /run 1: queued: not in the conversation yet/);
          release();
          assertEquals((await w.k(["agent", "wait", "st"])).code, 0);
          assertStringIncludes(texts().at(-1)!, "please also cover the error path");
        },
      );

      await t.step("Continue, then Interrupt: the run ends interrupted", async () => {
        release = api.hold();
        await click("#continue-agent");
        await waitText("#steer-note", /run 2 continues run 1's conversation/);
        await api.waitFor(() => api.held() > 0);
        await click("#interrupt-agent");
        await waitText("#steer-note", /run 2 interrupted: its conversation is kept/);
        release();
        assertEquals((await w.k(["agent", "wait", "st"])).code, 1);
        await waitText(".agent-tab table", /interrupted/);
        await shot("steer-interrupted-1280");
      });

      await t.step("Retry: the latest run's prompt again, a new conversation", async () => {
        const before = api.mainRequests().length;
        await click("#retry-agent");
        await waitText("#steer-note", /run 3: run 2's prompt again/);
        assertEquals((await w.k(["agent", "wait", "st"])).code, 0);
        const runs = JSON.parse((await w.k(["agent", "status", "st", "-o", "json"])).stdout).items;
        assertEquals(runs.map((r: { id: string }) => r.id), ["1", "2", "3"]);
        assertEquals(runs[2].continues, undefined);
        const next = texts().slice(before);
        assert(next.length > 0);
        assertMatch(next[0], /Continue the task from your last conversation/);
        // a new conversation: the first run's words are not in it
        assert(!next[0].includes("please also cover the error path"), "retry started a new conversation");
      });

      await t.step("no script error was raised in the page", () => {
        assertEquals(pageErrors, []);
      });
    } finally {
      release();
      await browser?.close().catch(() => {});
      try {
        ui.kill("SIGTERM");
      } catch { /* ended */ }
      await ui.status;
      await ui.stdout.cancel().catch(() => {});
      await ui.stderr.cancel().catch(() => {});
      await purge(w, "st");
      await api.close();
      await Deno.remove(repo.dir, { recursive: true }).catch(() => {});
    }
  },
);
