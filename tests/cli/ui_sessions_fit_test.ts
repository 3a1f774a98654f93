/**
 * `kodama ui`'s sessions list (issue 84 point 7): at 1280 and 800 px wide, nothing docs/ui.md promises is cut.
 * The agent column read `run 1 · failed: b…` and `run 1 · runnin…` at 1280 px; at 800 px the names, the sync
 * state, the branch and the age were cut too. Real Chromium (puppeteer-core) against the test server, with
 * long realistic values: a long session name, kodama's own branch for it (`kodama/NAME-TIMESTAMP`), a failed
 * run with a long reason, a running run, a sync with conflicts. Every cell shown is measured: its content no
 * wider than the cell (`scrollWidth <= clientWidth`) and no taller (a line hidden under the next row). The
 * agent's reason may be clamped to its lines; the cell's title then holds the whole text. Screenshots go to
 * /tmp/ui84-sessions-*.png (or $KODAMA_SCREENSHOTS).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";
import { makeTestRepo } from "./_git_server.ts";
import { saveConfig, saveStatus } from "../../src/session/sync/store.ts";

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

// "fail…" fails as a refused key does, with a long line of explanation; "wait…" runs until the test ends
const AGENT = `p=$(cat); case "$p" in fail*) echo "Error: Invalid API key - the key in ANTHROPIC_API_KEY ` +
  `was refused by the model API; fix it with kodama agent keys set anthropic and run again"; exit 1;; ` +
  `wait*) while [ ! -e "$HOME/.kodama/go-on" ]; do sleep 0.2; done;; esac; echo agent: done`;

const FAILED = "payments-refund-retry";
const RUNNING = "search-index-rebuild";

withSessionWorld(
  "kodama ui: the sessions list cuts none of name, status, agent, sync, branch, age at 1280 and 800 px",
  { ignore: !hasChromium || onRealCluster, timeoutMs: 6 * 60_000 },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ?? "/tmp";
    await Deno.writeTextFile(
      join(w.cwd, ".kodama.yaml"),
      `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
    );
    const repo = await makeTestRepo(join(w.cwd, "repo"));
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      // kodama's own branch for the session: kodama/payments-refund-retry-YYYYMMDDhhmmss
      const s = await w.k(["start", FAILED, "--repo", repo.bare, "--no-sync", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      const r = await w.k(["agent", "run", FAILED, "--prompt", "fail now"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await w.k(["agent", "logs", FAILED, r.stdout.trim(), "-f"])).code, 1);
      const s2 = await w.k(["start", RUNNING, "--no-sync", "--image", SESSION_IMAGE]);
      assertEquals(s2.code, 0, s2.stderr);
      assertEquals((await w.k(["agent", "run", RUNNING, "--prompt", "wait for it"])).code, 0);
      // a sync this machine ran for it that stopped with conflicts: `Error (12 conflicts)`
      await saveConfig(
        {
          name: RUNNING,
          namespace: "dev",
          root: w.cwd,
          workdir: "/workspace",
          pod: `kodama-${RUNNING}`,
          container: "dev",
          syncGit: false,
          useGitignore: true,
          excludePatterns: [],
          connection: [],
        } as Parameters<typeof saveConfig>[0],
        w.home,
      );
      await saveStatus(
        RUNNING,
        {
          state: "running",
          conflicts: Array.from({ length: 12 }, (_, i) => ({ path: `src/f${i}.ts` })),
        } as unknown as Parameters<typeof saveStatus>[1],
        w.home,
      );

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
      // both rows with their runs, the branch and the sync read
      await page.waitForFunction(
        (f: string, r: string) => {
          const txt = (s: string) => document.querySelector(s)?.textContent ?? "";
          return /failed/.test(txt(`tr[data-session="${f}"] .agent`)) &&
            /running/.test(txt(`tr[data-session="${r}"] .agent`)) &&
            /kodama\//.test(txt(`tr[data-session="${f}"] td.mono`)) &&
            /conflicts/.test(txt(`tr[data-session="${r}"] .sync`));
        },
        { timeout: 90_000, polling: 100 },
        FAILED,
        RUNNING,
      );

      for (const [width, height] of [[1280, 800], [800, 600]]) {
        await t.step(`${width}x${height}: every promised cell is whole`, async () => {
          await page.setViewport({ width, height });
          await page.evaluate(() =>
            new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
          );
          await page.screenshot({ path: join(shots, `ui84-sessions-${width}.png`) });
          const m = await page.evaluate((names: string[]) => {
            const heads = [...document.querySelectorAll(".grid.sessions thead th")]
              .filter((th) => getComputedStyle(th).display !== "none")
              .map((th) => th.textContent.trim());
            const rows = names.map((n) => {
              const tr = document.querySelector(`tr[data-session="${n}"]`);
              const rb = tr.getBoundingClientRect();
              const cells = [...tr.children].filter((td) => getComputedStyle(td).display !== "none")
                .map((td, i) => {
                  const b = td.getBoundingClientRect();
                  return {
                    col: heads[i] || "actions",
                    text: td.innerText,
                    wide: td.scrollWidth - td.clientWidth,
                    tall: td.scrollHeight - td.clientHeight,
                    // inside its row (contain: strict hides what is not)
                    out: Math.max(b.bottom - rb.bottom, rb.top - b.top, 0),
                    box: `${Math.round(b.height)} px in a ${Math.round(rb.height)} px row: ${
                      [...td.querySelectorAll("*")].map((e) => Math.round(e.getBoundingClientRect().height))
                        .join(",")
                    }`,
                  };
                });
              const agent = tr.querySelector(".agent");
              const st = agent.querySelector(".agent-state");
              const sb = st?.getBoundingClientRect(), ab = agent.parentElement.getBoundingClientRect();
              return {
                name: n,
                cells,
                agentTitle: agent.getAttribute("title") ?? "",
                state: st?.textContent ?? "",
                stateWide: st ? st.scrollWidth - st.clientWidth : 1,
                stateInside: !!sb && sb.bottom <= ab.bottom + 0.5 && sb.right <= ab.right + 0.5,
              };
            });
            return { heads, rows };
          }, [FAILED, RUNNING]);
          for (const col of ["Name", "Status", "Agent", "Sync", "Branch", "Age"]) {
            assert(m.heads.includes(col), `${col} is not shown at ${width} px: ${m.heads.join(",")}`);
          }
          for (const row of m.rows) {
            for (const c of row.cells) {
              if (c.col === "Image") continue; // not promised whole (it gives its room under 1000 px)
              const what = `${row.name}: ${c.col} (${JSON.stringify(c.text)}) at ${width} px`;
              assert(c.wide <= 0.5, `${what} is cut: ${c.wide} px too wide`);
              assert(c.tall <= 0.5, `${what} is cut: ${c.tall} px too tall`);
              assert(c.out <= 0.5, `${what} runs out of its row by ${c.out} px (${c.box})`);
            }
            // the run and its state on a line of their own, whole; the whole outcome in the title
            assert(
              row.stateWide <= 0.5 && row.stateInside,
              `${row.name}: the agent's state is cut at ${width}`,
            );
          }
          const [failed, running] = m.rows;
          assertEquals(failed.state, "run 1 · failed");
          assertEquals(running.state, "run 1 · running");
          assertStringIncludes(failed.agentTitle, "run 1 · failed: invalid API key");
          const cell = (row: typeof failed, col: string) =>
            row.cells.find((c: { col: string }) => c.col === col)!.text;
          assert(/^kodama\/payments-refund-retry-\d{14}$/.test(cell(failed, "Branch").replace(/\s/g, "")));
          assertEquals(cell(running, "Sync").replace(/\s+/g, " "), "Error (12 conflicts)");
          assertEquals(cell(failed, "Name").replace(/\s/g, ""), FAILED);
        });
      }
      assertEquals(pageErrors, []);
      ui.kill("SIGTERM");
      await ui.status;
    } finally {
      await browser?.close();
      await purge(w, FAILED);
      await purge(w, RUNNING);
    }
  },
);
