/**
 * `kodama ui`'s agent tab (#65 point 4): the runs table fits its column at 1280 and 800 px wide (it was
 * 1228 px in a 360 px column, EXIT and STARTED under the log panel), and a failed run's state and reason are
 * separate text (they read `failedInvalid API key`). Real Chromium (puppeteer-core) against the test server,
 * with a custom agent that fails with a long message. Screenshots go to /tmp/ui65-*.png (or
 * $KODAMA_SCREENSHOTS).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// functions handed to the page run there, where these exist
// deno-lint-ignore no-explicit-any
declare const document: any;
declare const requestAnimationFrame: (f: (t: number) => void) => void;
// deno-lint-ignore no-explicit-any
declare const getComputedStyle: (e: any) => { display: string };

const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

// a prompt that starts with "fail" fails the way a refused key does, with a long line of explanation
const AGENT = `p=$(cat); case "$p" in fail*) echo "Error: Invalid API key - the key in ANTHROPIC_API_KEY ` +
  `was refused by the model API; fix it with kodama agent keys set anthropic and run again"; exit 1;; esac; ` +
  `echo agent: done`;

const NAME = "rt";

withSessionWorld(
  "kodama ui: the agent tab's runs table fits its column; state and reason are separate text",
  { ignore: !hasChromium || onRealCluster, timeoutMs: 6 * 60_000 },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ?? "/tmp";
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
    );
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      const s = await w.k(["start", NAME, "--no-sync", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      for (const [prompt, code] of [["look around", 0], ["fail now", 1]] as const) {
        const r = await w.k(["agent", "run", NAME, "--prompt", prompt]);
        assertEquals(r.code, 0, r.stderr);
        const f = await w.k(["agent", "logs", NAME, r.stdout.trim(), "-f"]);
        assertEquals(f.code, code, f.stderr);
      }
      const ui = w.spawn(["ui"]);
      const { text: first, rest } = await readUntil(ui.stdout, /\n/);
      rest.releaseLock();
      const puppeteer = (await import("puppeteer-core")).default;
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
      const pageErrors: string[] = [];
      // deno-lint-ignore no-explicit-any
      page.on("pageerror", (e: any) => pageErrors.push(String(e?.message ?? e)));
      await page.setViewport({ width: 1280, height: 800 });
      await page.goto(first.trim());
      await page.goto(new URL(`#/sessions/${NAME}/agent`, first.trim()).href);
      await page.waitForFunction(
        () => document.querySelectorAll("#runs-table tbody tr").length === 2,
        { timeout: 60_000, polling: 100 },
      );
      // the selected (latest) run's log has arrived: the screenshots show the whole tab
      await page.waitForFunction(
        () => /Invalid API key/.test(document.querySelector("#run-log")?.textContent ?? ""),
        { timeout: 60_000, polling: 100 },
      );

      for (const width of [1280, 800]) {
        await t.step(`${width} px wide: the table is no wider than its column`, async () => {
          await page.setViewport({ width, height: 800 });
          // the layout after the resize (two frames)
          await page.evaluate(() =>
            new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
          );
          const m = await page.evaluate(() => {
            const table = document.querySelector("#runs-table");
            const col = document.querySelector(".agent-tab .runs");
            const log = document.querySelector(".agent-tab .log-pane");
            const tb = table.getBoundingClientRect(), cb = col.getBoundingClientRect();
            const lb = log.getBoundingClientRect();
            // every header cell shown ends inside the column (none under the log panel)
            const cells = [...table.querySelectorAll("th")].filter((th) =>
              getComputedStyle(th).display !== "none"
            )
              .map((th) => ({ text: th.textContent, right: th.getBoundingClientRect().right }));
            return {
              table: tb.width,
              scroll: table.scrollWidth,
              column: cb.width,
              colRight: cb.right,
              logLeft: lb.left,
              logTop: lb.top,
              colBottom: cb.bottom,
              cells,
            };
          });
          assert(m.table <= m.column + 0.5, `table ${m.table}px in a ${m.column}px column`);
          assert(m.scroll <= m.column + 0.5, `table content ${m.scroll}px in a ${m.column}px column`);
          for (const c of m.cells) {
            assert(c.right <= m.colRight + 0.5, `${c.text} ends at ${c.right} > ${m.colRight}`);
          }
          assertEquals(m.cells.map((c: { text: string }) => c.text).includes("Started"), true);
          // beside the log at 1280, above it at 800: never under it
          if (width === 1280) assert(m.colRight <= m.logLeft, "the runs column overlaps the log");
          else assert(m.colBottom <= m.logTop + 0.5, "the runs sit over the log at 800 px");
          await page.screenshot({ path: join(shots, `ui65-agent-tab-${width}.png`), fullPage: true });
        });
      }

      await t.step("a failed run's state and reason are separate text", async () => {
        const cell = await page.evaluate(() => {
          const row = [...document.querySelectorAll("#runs-table tbody tr")].find((tr) =>
            tr.querySelector(".a-failed")
          );
          const td = row.querySelector(".run-state");
          return {
            state: td.querySelector(".agent").textContent,
            reason: td.querySelector(".run-reason")?.textContent ?? "",
            shown: td.innerText,
          };
        });
        assertEquals(cell.state, "failed: invalid API key");
        assertMatch(cell.reason, /^Error: Invalid API key/);
        // what a person reads: the two on their own lines, never run together
        assert(!cell.shown.includes("keyError"), cell.shown);
        assertMatch(cell.shown, /^failed: invalid API key\s*\n\s*Error: Invalid API key/);
      });
      assertEquals(pageErrors, []);
      ui.kill("SIGTERM");
      await ui.status;
    } finally {
      await browser?.close();
      await purge(w, NAME);
    }
  },
);
