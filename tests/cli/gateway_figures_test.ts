/**
 * The gateway's metered figures where users look (#64 point 4): two replicas of the real Claude Code
 * through a real gateway (`kodama gateway ensure`) to the model-API stand-in, whose token counts are known;
 * `list` (USAGE column, status.gateway), `compare` (GATEWAY column, the group's total), `agent status`
 * (budget left) and `kodama ui` (the sessions table and the agent tab, in Chromium at 1280 and 800 px) show
 * exactly the stand-in's counts. A gateway whose log cannot be read (its pod gone) and no gateway at all:
 * `list` works, with no column and `gateway: null`. Screenshots go to /tmp/gwfigures-*.png (or
 * $KODAMA_SCREENSHOTS). Skipped on a real cluster and without the CLI.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { purge, readUntil, withSessionWorld } from "./_session.ts";
import { type StandIn, startStandIn } from "../agents/_standin.ts";
import { CLAUDE, missing } from "../agents/_clis.ts";
import { startMcp } from "./_mcp.ts";

// functions handed to the page run there, where these exist
// deno-lint-ignore no-explicit-any
declare const document: any;
declare const requestAnimationFrame: (f: (t: number) => void) => void;

const KEY = "sk-ant-api03-realkey-only-the-gateway-holds-7741";
const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

interface Figures {
  requests: number;
  input: number;
  output: number;
  costUsd: number | null;
  budgetUsd: number | null;
  budgetLeftUsd: number | null;
}

/**
 * What the stand-in's usage fields said, summed over what it answered well through the gateway (which asks
 * for `accept-encoding: identity` to read usage as it passes); `start --prompt`'s live check of the key
 * goes from this machine straight to the API and is not the session's.
 */
function standInUsage(api: StandIn) {
  const ok = api.requests.filter((r) =>
    r.usage && (r.status ?? 200) === 200 && r.headers?.["accept-encoding"] === "identity"
  );
  return {
    input: ok.reduce((a, r) => a + r.usage!.input, 0),
    output: ok.reduce((a, r) => a + r.usage!.output, 0),
  };
}

withSessionWorld(
  "gateway figures: list, compare, agent status and the web UI show the gateway's count of the stand-in's tokens",
  { ignore: onRealCluster || missing("claude", CLAUDE), timeoutMs: 9 * 60_000 },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ?? "/tmp";
    const api = await startStandIn([[{ text: "one" }], [{ text: "two" }]], { gate: { keys: [KEY] } });
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url };
    const listed = async () => {
      const r = await w.k(["list", "-o", "json"]);
      assertEquals(r.code, 0, r.stderr);
      const items = JSON.parse(r.stdout).items as {
        metadata: { name: string };
        status: { gateway?: Figures | null };
      }[];
      return new Map(items.map((i) => [i.metadata.name, i.status.gateway]));
    };
    try {
      await t.step("ensure, then two replicas with a $2 budget run through it", async () => {
        assertEquals((await w.k(["gateway", "ensure", "--timeout", "90s"], { env })).code, 0);
        const r = await w.k([
          "start",
          "gf",
          "--replicas",
          "2",
          "--no-sync",
          "--budget",
          "2",
          "--prompt",
          "Say hello.",
        ], { env });
        assertEquals(r.code, 0, r.stderr);
        const c = await w.k(["compare", "gf", "--wait", "--timeout", "4m"], { env });
        assertEquals(c.code, 0, c.stdout + c.stderr);
        assert(api.answered(200) >= 2, "the stand-in answered too few requests");
      });

      const expected = standInUsage(api);

      await t.step("list -o json: each replica's figures; together, the stand-in's count", async () => {
        const g = await listed();
        const f1 = g.get("gf-1"), f2 = g.get("gf-2");
        assert(f1 && f2, JSON.stringify([...g]));
        // what the stand-in answered, to tell a request the gateway did not meter
        const seen = JSON.stringify(
          api.requests.map((r) => [r.path, r.status, (r.body as { model?: string })?.model, r.usage]),
        );
        const logs = (await w.k(["gateway", "log", "gf-1", "-o", "json"])).stdout +
          (await w.k(["gateway", "log", "gf-2", "-o", "json"])).stdout;
        const why = `stand-in: ${seen}\ngateway: ${JSON.stringify([f1, f2])}\n${logs}`;
        assertEquals(f1.input + f2.input, expected.input, why);
        assertEquals(f1.output + f2.output, expected.output, why);
        assert(f1.input > 0 && f2.input > 0 && f1.requests > 0, JSON.stringify([...g]));
        for (const f of [f1, f2]) {
          assertEquals(f.budgetUsd, 1);
          // the CLI's default model has a price: the cost is known, and what is left of the budget with it
          assert(f.costUsd !== null && f.costUsd > 0, why);
          assertEquals(f.budgetLeftUsd, Math.round((1 - f.costUsd) * 1e6) / 1e6);
        }
      });

      await t.step("list: a USAGE column, within the table as before", async () => {
        const r = await w.k(["list"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(r.stdout, /^NAME .* USAGE +AGE$/m);
        assertMatch(r.stdout, /^gf-1 .* \d+(\.\d)?k? tok (<?\$\d+\.\d\d|\$\?) +\S+$/m);
      });

      await t.step(
        "compare: the gateway's count beside the agent's claim, and the group's total",
        async () => {
          const j = await w.k(["compare", "gf", "-o", "json"]);
          assertEquals(j.code, 0, j.stderr);
          const doc = JSON.parse(j.stdout);
          assertEquals([doc.gateway.input, doc.gateway.output], [
            expected.input,
            expected.output,
          ]);
          const per = doc.items.map((i: { gateway: Figures }) => i.gateway.input);
          assertEquals(per[0] + per[1], expected.input);
          const r = await w.k(["compare", "gf"]);
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stdout, /^REPLICA .* GATEWAY /m);
          assertMatch(
            r.stdout,
            /^GATEWAY: tokens and cost metered by the gateway, not claimed by the agent/m,
          );
          assertMatch(r.stdout, /^group total \(gateway\): \S+ tok (<?\$\d+\.\d\d|\$\?), \d+ requests$/m);
        },
      );

      await t.step("agent status: the session's figures and the budget left", async () => {
        const g = await listed();
        const j = await w.k(["agent", "status", "gf-1", "-o", "json"]);
        assertEquals(j.code, 0, j.stderr);
        const f = JSON.parse(j.stdout).metadata.gateway as Figures;
        assertEquals([f.input, f.output], [g.get("gf-1")!.input, g.get("gf-1")!.output]);
        const r = await w.k(["agent", "status", "gf-1"]);
        assertEquals(r.code, 0, r.stderr);
        assertMatch(
          r.stderr,
          /^gateway: \S+ tok (<?\$\d+\.\d\d|\$\?) \(metered by the gateway, \d+ requests?\); budget \$1\.00, (\$[01]\.\d\d|\?) left$/m,
        );
      });

      await t.step("MCP: sessions_list and session_status carry the same figures", async () => {
        const g = await listed();
        const m = await startMcp(w.c.kubeconfig, ["--context", "dev"], { cwd: w.cwd });
        try {
          const l = await m.call("sessions_list", {});
          assert(!l.isError, l.text);
          const s1 = l.data.sessions.find((s: { metadata: { name: string } }) => s.metadata.name === "gf-1");
          assertEquals(s1.status.gateway.input, g.get("gf-1")!.input);
          assertMatch(l.text, /USAGE/);
          const st = await m.call("session_status", { name: "gf-1" });
          assert(!st.isError, st.text);
          assertEquals(st.data.session.status.gateway.output, g.get("gf-1")!.output);
          assertMatch(st.text, /^gateway: \S+ tok .*budget \$1\.00/m);
        } finally {
          await m.close();
        }
      });

      await t.step("kodama ui: the sessions table's Usage column and the agent tab's line fit", async (s) => {
        if (!hasChromium) return;
        const g = await listed();
        const f1 = g.get("gf-1")!;
        const ui = w.spawn(["ui"]);
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
          const pageErrors: string[] = [];
          // deno-lint-ignore no-explicit-any
          page.on("pageerror", (e: any) => pageErrors.push(String(e?.message ?? e)));
          await page.setViewport({ width: 1280, height: 800 });
          await page.goto(first.trim());
          await page.waitForFunction(
            () => !!document.querySelector('tr[data-session="gf-1"] .usage'),
            { timeout: 60_000, polling: 100 },
          );
          for (const width of [1280, 800]) {
            await s.step(`sessions at ${width} px`, async () => {
              await page.setViewport({ width, height: 800 });
              await page.evaluate(() =>
                new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
              );
              const m = await page.evaluate(() => {
                const table = document.querySelector(".grid.sessions");
                const heads = [...table.querySelectorAll("th")].map((th) => th.textContent);
                const cell = document.querySelector('tr[data-session="gf-1"] .usage');
                const td = cell.parentElement;
                return {
                  heads,
                  text: cell.textContent,
                  title: cell.getAttribute("title"),
                  width: table.getBoundingClientRect().width,
                  scroll: table.scrollWidth,
                  // the cell's text is not cut (an ellipsis would hide the cost), nor the status beside it
                  cut: td.scrollWidth > td.clientWidth + 0.5,
                  statusCut: (() => {
                    const st = document.querySelector('tr[data-session="gf-1"] .pill').parentElement;
                    return st.scrollWidth > st.clientWidth + 0.5;
                  })(),
                };
              });
              await page.screenshot({ path: join(shots, `gwfigures-sessions-${width}.png`), fullPage: true });
              assert(m.heads.includes("Usage"), m.heads.join(","));
              assertMatch(m.text, /^\S+ tok (<?\$\d+\.\d\d|\$\?)$/);
              assert(m.title.includes(`${f1.input} input, ${f1.output} output`), m.title);
              assert(m.scroll <= m.width + 0.5, `table content ${m.scroll}px in ${m.width}px`);
              assert(!m.cut, `the usage cell ${m.text} is cut at ${width} px`);
              assert(!m.statusCut, `the status cell is cut at ${width} px`);
            });
          }
          await page.setViewport({ width: 1280, height: 800 });
          await page.goto(new URL("#/sessions/gf-1/agent", first.trim()).href);
          // the line, and the runs beside it: the screenshots show the whole tab
          await page.waitForFunction(
            () =>
              !!document.querySelector("#gateway-usage") && !!document.querySelector("#runs-table tbody tr"),
            { timeout: 60_000, polling: 100 },
          );
          for (const width of [1280, 800]) {
            await page.setViewport({ width, height: 800 });
            await page.evaluate(() =>
              new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())))
            );
            const line = await page.evaluate(() => document.querySelector("#gateway-usage").textContent);
            assertMatch(
              line,
              /Gateway: \S+ tok (<?\$\d+\.\d\d|\$\?) · \d+ requests? · budget \$1\.00, (\$[01]\.\d\d|unknown) left/,
            );
            await page.screenshot({ path: join(shots, `gwfigures-agent-${width}.png`), fullPage: true });
          }
          assertEquals(pageErrors, []);
        } finally {
          await browser.close();
          ui.kill("SIGINT");
          await ui.status;
        }
      });

      await t.step(
        "the gateway's pod deleted: its StatefulSet brings it back with the same figures",
        async () => {
          const before = await listed();
          assertEquals((await w.kc(["delete", "pod", "kodama-gateway-0", "--wait=true"])).code, 0);
          const back = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
          assertEquals(back.code, 0, back.stderr);
          // the new pod's log begins with what its journal carried over: the same figures as before
          const after = await listed();
          for (const name of ["gf-1", "gf-2"]) assertEquals(after.get(name), before.get(name));
        },
      );

      await t.step("a gateway whose log cannot be read: list works, no column, gateway null", async () => {
        // scaled to none (the StatefulSet would make a deleted pod again)
        const none = await w.kc(["patch", "statefulset", "kodama-gateway", "-p", '{"spec":{"replicas":0}}']);
        assertEquals(none.code, 0, none.stderr);
        const gone = await w.kc(["delete", "pod", "kodama-gateway-0", "--ignore-not-found", "--wait=true"]);
        assertEquals(gone.code, 0, gone.stderr);
        const r = await w.k(["list"]);
        assertEquals(r.code, 0, r.stderr);
        assert(!/USAGE/.test(r.stdout), r.stdout);
        const g = await listed();
        assertEquals(g.get("gf-1"), null);
        const st = await w.k(["agent", "status", "gf-1", "-o", "json"]);
        assertEquals(st.code, 0, st.stderr);
        assertEquals(JSON.parse(st.stdout).metadata.gateway, null);
      });

      await t.step("no gateway at all: list works, no column", async () => {
        assertEquals((await w.k(["gateway", "delete"])).code, 0);
        const r = await w.k(["list"]);
        assertEquals(r.code, 0, r.stderr);
        assert(!/USAGE/.test(r.stdout), r.stdout);
        const c = await w.k(["compare", "gf"]);
        assertEquals(c.code, 0, c.stderr);
        assert(!/GATEWAY/.test(c.stdout), c.stdout);
      });
    } finally {
      await purge(w, "gf-1");
      await purge(w, "gf-2");
      await w.k(["gateway", "delete"]);
      await api.close();
    }
  },
);
