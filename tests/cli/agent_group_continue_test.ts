/**
 * `kodama agent run GROUP --continue`, black-box against the test server: a group of two with a fake agent
 * (agent.command, agent.continueArgs in the repository's .kodama.yaml) whose replica 2 fails its first run;
 * the group's continue starts a continued run in replica 2 only (with the continue arguments), leaves the
 * replica that succeeded alone and names both; compare's footer names the agent's failure, not the check.
 * `agent run cg --prompt …` (no --continue) starts a run in every running replica and names a stopped one.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { makeTestRepo, podReachableRepo } from "./_git_server.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

// `sh -c AGENT --again` on a continuation ($0 is the continue argument); replica 2 fails its first run
const AGENT = [
  `p=$(cat)`,
  `if [ "$0" = --again ]; then echo "continued: $p"; exit 0; fi`,
  `case "$KODAMA_REPLICA" in 1) echo "fine" ;; *) echo "API Error: 529 overloaded" >&2; exit 1 ;; esac`,
].join("\n");

withSessionWorld(
  "agent run GROUP --continue: every replica whose latest run failed is continued, the others left alone",
  { timeoutMs: 300_000 },
  async (t, w) => {
    const repo = await makeTestRepo(await Deno.makeTempDir({ prefix: "kodama-repo-" }));
    const served = await podReachableRepo(repo, onRealCluster);
    const cwd = repo.work;
    const k = (args: string[]) => w.k(args, { cwd });
    await Deno.writeTextFile(join(cwd, ".git", "info", "exclude"), ".kodama.yaml\n");
    await Deno.writeTextFile(
      join(cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n  continueArgs: [--again]\n`,
    );
    try {
      await t.step("a group of 2: replica 2 fails", async () => {
        const r = await k([
          "start",
          "cg",
          "--repo",
          served.url,
          "--image",
          SESSION_IMAGE,
          "--replicas",
          "2",
          "--prompt",
          "do it",
        ]);
        assertEquals(r.code, 0, r.stderr);
        const c = await k(["compare", "cg", "--wait", "--timeout", "2m"]);
        assertEquals(c.code, 1, c.stdout + c.stderr);
        // the footer names the agent's end; the summary is its error, not the stream
        assertMatch(c.stderr, /1 of 2 replicas failed: cg-2 \(failed: overloaded \(retryable\)\)/);
        assertMatch(c.stdout, /^cg-2\s+failed: overloaded \(retryable\).*API Error: 529 overloaded/m);
      });
      await t.step("agent run cg --continue: replica 2 continued, replica 1 left alone", async () => {
        const r = await k(["agent", "run", "cg", "--continue"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "cg-2\t2\n");
        assertMatch(r.stderr, /^cg-2: continued as run 2 \(after run 1 failed: overloaded \(retryable\)\)$/m);
        assertMatch(r.stderr, /^cg-1: left alone \(run 1 succeeded/m);
        const f = await k(["agent", "logs", "cg-2", "2", "-f"]);
        assertEquals(f.code, 0, f.stderr);
        assertStringIncludes(f.stdout, "continued: Continue the task");
        const runs = JSON.parse((await k(["agent", "status", "cg-2", "-o", "json"])).stdout).items;
        assertEquals([runs[1].continues, runs[1].outcome.class], ["1", "no-changes"]);
        assertEquals(JSON.parse((await k(["agent", "status", "cg-1", "-o", "json"])).stdout).items.length, 1);
      });
      await t.step({
        name: "the UI's group page: a Continue button for the failed replica; it continues it",
        ignore: !hasChromium,
        fn: async () => {
          const r = await k(["agent", "run", "cg-2", "--prompt", "fail again"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals((await k(["agent", "logs", "cg-2", "3", "-f"])).code, 1);
          const ui = w.spawn(["ui"], {});
          const { text: first, rest } = await readUntil(ui.stdout, /\n/);
          rest.releaseLock();
          const puppeteer = (await import("puppeteer-core")).default;
          const browser = await puppeteer.launch({
            executablePath: CHROMIUM,
            headless: true,
            args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
          });
          try {
            const page = await browser.newPage();
            await page.setViewport({ width: 1360, height: 760 });
            await page.goto(first.trim());
            await page.evaluate(() => (location.hash = "#/groups/cg"));
            await page.waitForSelector("#continue-group", { timeout: 60_000 });
            const label = await page.$eval(
              "#continue-group",
              (e: { textContent: string | null }) => e.textContent?.trim(),
            );
            assertEquals(label, "Continue 1 failed");
            const shots = Deno.env.get("KODAMA_SCREENSHOTS") ??
              await Deno.makeTempDir({ prefix: "kodama-shots-" });
            await page.screenshot({ path: join(shots, "group-continue.png") });
            console.log(`screenshot: ${join(shots, "group-continue.png")}`);
            await page.click("#continue-group");
            await page.waitForSelector(`.op.ok[data-op="continue group cg"]`, { timeout: 60_000 });
            const runs = JSON.parse((await k(["agent", "status", "cg-2", "-o", "json"])).stdout).items;
            assertEquals([runs.length, runs[3].continues], [4, "3"]);
          } finally {
            await browser.close();
            ui.kill("SIGINT");
            await ui.status;
          }
        },
      });
      await t.step("nothing failed any more: nothing continued, said", async () => {
        const r = await k(["agent", "run", "cg", "--continue"]);
        assertEquals(r.code, 0, r.stderr);
        assertEquals(r.stdout, "");
        assertStringIncludes(r.stderr, "group cg: no replica's latest run failed: nothing to continue");
      });
      await t.step(
        "agent run cg --prompt: a run in every running replica; a stopped one is named",
        async () => {
          const r = await k(["agent", "run", "cg", "--prompt", "once more"]);
          assertEquals(r.code, 0, r.stderr);
          const lines = r.stdout.trimEnd().split("\n").map((l) => l.split("\t"));
          assertEquals(lines.map((l) => l[0]), ["cg-1", "cg-2"]);
          assertMatch(r.stderr, /^cg-1: agent run \d+ started$/m);
          const f = await k(["agent", "logs", "cg-1", lines[0][1], "-f"]);
          assertEquals([f.code, f.stdout.trim()], [0, "fine"], f.stderr);
          assertEquals((await k(["stop", "cg-1"])).code, 0);
          const again = await k(["agent", "run", "cg", "--prompt", "and again"]);
          assertEquals(again.code, 0, again.stderr);
          assertMatch(again.stdout, /^cg-2\t\d+\n$/);
          assertMatch(again.stderr, /^cg-1: left alone \(Stopped\)$/m);
          // a session named like the group: the run is the session's, and the group is named
          const single = await k(["start", "cg", "--image", SESSION_IMAGE, "--no-sync"]);
          assertEquals(single.code, 0, single.stderr);
          const own = await k(["agent", "run", "cg", "--prompt", "just me"]);
          assertEquals([own.code, own.stdout.trim()], [0, "1"], own.stderr);
          assertStringIncludes(
            own.stderr,
            "note: cg is also a group (cg-1, cg-2): this ran in session cg only",
          );
          const none = await k(["agent", "run", "cg-nope", "--prompt", "x"]);
          assertEquals(none.code, 3, none.stderr);
          assertStringIncludes(none.stderr, "cg-nope");
        },
      );
    } finally {
      await purge(w, "cg").catch(() => {});
      await purge(w, "cg-1").catch(() => {});
      await purge(w, "cg-2").catch(() => {});
    }
  },
);
