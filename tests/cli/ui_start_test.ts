/**
 * `kodama ui`'s start dialog offers what `kodama start` does (template, replicas, agent preset, idle stop,
 * TTL, sync mode), in real Chromium (puppeteer-core) against the test server: bad values come back as
 * kodama's message and hint in the dialog; a best-of-2 group from a template makes the objects
 * `kodama start --dry-run` plans for the same flags. Then the dock: an operation's panel never covers a
 * workflow's output. Screenshots go to /tmp/ui52-*.png (or $KODAMA_SCREENSHOTS).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

// functions handed to the page run there, where these exist
// deno-lint-ignore no-explicit-any
declare const document: any;
type Box = { x: number; y: number; width: number; height: number };

const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

const GROUP = "uigrp";
const TEMPLATE = `description: the UI test's template
image: ${SESSION_IMAGE}
resources: { cpu: 300m, memory: 300Mi }
labels: { team: ui52 }
`;

type Obj = {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { image: string }[]; template?: Omit<Obj, "kind"> };
};

/** What a session pod says of its settings: image, template labels, and the recorded spec's lifetime and agent. */
function settingsOf(pod: Obj) {
  const spec = JSON.parse(pod.metadata.annotations?.["kodama.dev/spec"] ?? "{}");
  return {
    name: pod.metadata.name,
    image: pod.spec?.containers?.[0].image,
    team: pod.metadata.labels?.team,
    group: spec.group,
    idleStop: spec.idleStop,
    agent: spec.agent?.preset,
    cpu: spec.cpu,
    expiresIn: spec.expiresAt ? Date.parse(spec.expiresAt) - Date.parse(spec.createdAt) : undefined,
  };
}

withSessionWorld(
  "kodama ui: the start dialog has kodama start's options (template, replicas, agent, idle stop, TTL, sync mode); the dock covers no output",
  { ignore: !hasChromium, timeoutMs: 300_000 },
  async (t, w) => {
    const shots = Deno.env.get("KODAMA_SCREENSHOTS") ?? "/tmp";
    await Deno.mkdir(join(w.cwd, ".kodama", "templates"), { recursive: true });
    await Deno.writeTextFile(join(w.cwd, ".kodama", "templates", "web.yaml"), TEMPLATE);
    await Deno.mkdir(join(w.cwd, ".kodama", "workflows"), { recursive: true });
    await Deno.writeTextFile(
      join(w.cwd, ".kodama", "workflows", "greet.yaml"),
      "description: greet\npermissions: { run: [echo] }\n" +
        'steps:\n  - id: hello\n    local: { command: [echo, "hello from the workflow"] }\n',
    );
    const ui = w.spawn(["ui"]);
    const { text: first, rest } = await readUntil(ui.stdout, /\n/);
    rest.releaseLock();
    const loginUrl = first.trim();
    const origin = new URL(loginUrl).origin;
    // deno-lint-ignore no-explicit-any
    let browser: any;
    try {
      const puppeteer = (await import("puppeteer-core")).default;
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1360, height: 860 });
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
      const pageErrors: string[] = [];
      // deno-lint-ignore no-explicit-any
      page.on("pageerror", (e: any) => pageErrors.push(String(e?.message ?? e)));
      const shot = (name: string) => page.screenshot({ path: join(shots, `ui52-${name}.png`) });
      const textOf = (sel: string) =>
        page.$eval(sel, (e: { textContent: string | null }) => e.textContent ?? "") as Promise<string>;
      const waitText = (sel: string, re: RegExp, timeout = 60_000) =>
        page.waitForFunction(
          (s: string, src: string) => new RegExp(src).test(document.querySelector(s)?.textContent ?? ""),
          { timeout, polling: 100 },
          sel,
          re.source,
        );
      /** Set a field to a value, as a person clearing it and typing would. */
      const fill = async (sel: string, value: string) => {
        await page.focus(sel);
        await page.keyboard.down("Control");
        await page.keyboard.press("a");
        await page.keyboard.up("Control");
        await page.keyboard.press("Backspace");
        if (value) await page.type(sel, value);
      };

      await page.goto(loginUrl);
      await page.waitForSelector(".live.on");
      const csrf = await page.evaluate("JSON.parse(sessionStorage.getItem('kodama-ui')).csrf") as string;
      const session = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('kodama-ui')).session",
      ) as string;
      const api = (path: string, body?: unknown) =>
        fetch(origin + path, {
          method: body === undefined ? "GET" : "POST",
          headers: { authorization: `Bearer ${session}`, origin, "x-csrf-token": csrf },
          body: body === undefined ? undefined : JSON.stringify(body),
        });

      await t.step(
        "the start options: the templates `template list` lists, presets, sync modes",
        async () => {
          const r = await api("/api/start-options");
          assertEquals(r.status, 200);
          const o = await r.json();
          const cli = JSON.parse((await w.k(["template", "list", "-o", "json"])).stdout);
          assertEquals(o.templates, cli);
          assert(o.templates.some((x: { name: string }) => x.name === "web"), JSON.stringify(o.templates));
          assertEquals(o.agents, ["claude", "codex", "gemini", "opencode", "pi", "qwen", "custom"]);
          // a page may not choose what a repository may not: one-way-pod overwrites local files
          assertEquals(o.syncModes, ["two-way", "one-way-local"]);
          assertEquals(o.maxReplicas, 16);
        },
      );

      await t.step("bad values: the API answers kodama's message and hint, as the CLI's flags", async () => {
        for (
          const [body, flag] of [
            [{ name: "bad", idleStop: "5x" }, ["--idle-stop", "5x"]],
            [{ name: "bad", ttl: "0s" }, ["--ttl", "0s"]],
            [{ name: "bad", replicas: "17" }, ["--replicas", "17"]],
            [{ name: "bad", replicas: 0 }, ["--replicas", "0"]],
            [{ name: "bad", agent: "copilot" }, ["--agent", "copilot"]],
            [{ name: "bad", template: "nosuch" }, ["--template", "nosuch"]],
            [{ name: "bad", sync: ".", syncMode: "both" }, ["--sync", ".", "--sync-mode", "both"]],
          ] as const
        ) {
          const r = await api("/api/sessions", body);
          const got = await r.json();
          // exit 2 (usage) is 400; a template not found is exit 3, 404
          const notFound = flag[0] === "--template";
          assertEquals(r.status, notFound ? 404 : 400, JSON.stringify(got));
          assert(got.hint, `a hint comes with ${JSON.stringify(got)}`);
          // the CLI's own words for the same value (commander's choices check the sync mode first)
          const cli = await w.k(["start", "bad", ...flag, "--dry-run"]);
          assertEquals(cli.code, notFound ? 3 : 2, cli.stderr);
          if (flag[0] !== "--sync") assertStringIncludes(cli.stderr, got.error, JSON.stringify(body));
          else assertMatch(got.error, /invalid --sync-mode "both"/);
        }
        // one-way-pod is refused at the door as in a repository's .kodama.yaml: 403, the same rule's words
        const owp = await api("/api/sessions", { name: "bad", sync: ".", syncMode: "one-way-pod" });
        const refused = await owp.json();
        assertEquals(owp.status, 403, JSON.stringify(refused));
        assertMatch(refused.error, /sync mode "one-way-pod": .* may only set "two-way" or "one-way-local"/);
        // nothing was made
        assertEquals((await w.kc(["get", "pods", "-o", "name"])).stdout.trim(), "");
      });

      await t.step(
        "the dialog shows a bad duration's and a bad replicas value's message and hint",
        async () => {
          await page.click("#new-session");
          await page.waitForSelector("select[name=template] option[value=web]");
          await page.type("input[name=name]", GROUP);
          await page.type("input[name=idleStop]", "5x");
          await page.click("#start-form button[type=submit]");
          await waitText("#start-error", /invalid --idle-stop "5x"/);
          const bad = await (await api("/api/sessions", { name: GROUP, idleStop: "5x" })).json();
          assertEquals(await textOf("#start-error"), bad.error + bad.hint);
          await shot("dialog-error");
          await fill("input[name=idleStop]", "30m");
          await fill("input[name=replicas]", "17");
          await page.click("#start-form button[type=submit]");
          await waitText("#start-error", /--replicas must be a whole number from 1 to 16, got "17"/);
          assertStringIncludes(await textOf("#start-error"), "best of N");
          assertEquals(await page.$(`tr[data-session^=${GROUP}]`), null);
          // More repositories: each path passes the page's door, as the one Repository does (#81)
          await fill("input[name=replicas]", "1");
          await fill("textarea[name=repos]", "/etc=e1\n/usr=e2:ro");
          await page.click("#start-form button[type=submit]");
          await waitText("#start-error", /repository "\/etc"[^]*outside the project/);
          await shot("dialog-repos");
          await fill("textarea[name=repos]", "");
          assertEquals(await page.$(`tr[data-session^=${GROUP}]`), null);
        },
      );

      await t.step("a best-of-2 group from a template, with idle stop, TTL and an agent preset", async () => {
        await fill("input[name=replicas]", "2");
        // a group: each replica gets its own branch and no sync (as start --replicas says)
        assert(await page.$eval("input[name=sync]", (e: { disabled: boolean }) => e.disabled));
        assert(await page.$eval("input[name=branch]", (e: { disabled: boolean }) => e.disabled));
        await page.select("select[name=template]", "web");
        await waitText("#start-form", /the UI test's template/);
        await page.select("select[name=agent]", "codex");
        await fill("input[name=ttl]", "2d");
        await shot("dialog");
        assertStringIncludes(await textOf("#start-form button[type=submit]"), "Start 2 replicas");
        await page.click("#start-form button[type=submit]");
        await page.waitForFunction(
          () => !document.querySelector("#start-form") || document.querySelector("#start-error"),
          {
            timeout: 60_000,
          },
        );
        assertEquals(
          await page.$eval("#start-error", (e: { textContent: string }) => e.textContent).catch(() => null),
          null,
        );
        for (const i of [1, 2]) {
          await waitText(`tr[data-session=${GROUP}-${i}] .pill`, /^Running$/, 120_000);
        }
        await waitText(`tr[data-group=${GROUP}]`, /2 replicas/);
        await shot("group-started");
        // the cluster objects are those `kodama start` plans for the same flags
        const plan = await w.k([
          "start",
          GROUP,
          "--template",
          "web",
          "--replicas",
          "2",
          "--agent",
          "codex",
          "--idle-stop",
          "30m",
          "--ttl",
          "2d",
          "--dry-run",
          "-o",
          "json",
        ]);
        assertEquals(plan.code, 0, plan.stderr);
        // each replica's Job, whose template is its pod (issue 80)
        const template = (j: Obj): Obj => ({
          ...j.spec!.template!,
          kind: "Pod",
          metadata: { ...j.spec!.template!.metadata, name: j.metadata.name },
        });
        const planned = (JSON.parse(plan.stdout).items as Obj[]).filter((o) => o.kind === "Job").map((j) =>
          settingsOf(template(j))
        );
        assertEquals(planned.length, 2);
        const live = [];
        for (const p of planned) {
          const r = await w.kc(["get", "job", p.name, "-o", "json"]);
          assertEquals(r.code, 0, r.stderr);
          live.push(settingsOf(template(JSON.parse(r.stdout))));
        }
        const day2 = 2 * 24 * 3600_000;
        for (const s of [...planned, ...live]) {
          assertEquals([s.image, s.team, s.idleStop, s.agent, s.cpu], [
            SESSION_IMAGE,
            "ui52",
            1800,
            "codex",
            "300m",
          ]);
          assert(Math.abs(s.expiresIn! - day2) < 5_000, `expires ${s.expiresIn} ms after its start`);
        }
        assertEquals(live.map((s) => [s.name, s.group]), planned.map((s) => [s.name, s.group]));
      });

      await t.step(
        "a failed operation's panel stays in the dock and covers none of a workflow's output",
        async () => {
          // the same group again: the start fails in the cluster (the group exists); its panel stays
          await page.click("#new-session");
          await page.waitForSelector("select[name=template] option[value=web]");
          await page.type("input[name=name]", GROUP);
          await fill("input[name=replicas]", "2");
          await page.click("#start-form button[type=submit]");
          await waitText(".dock .op.bad", /already exists/, 60_000);
          await page.click("a[href='#/workflows']");
          await page.waitForSelector("button[data-workflow=greet]");
          await page.click("button[data-workflow=greet]");
          await page.click("#run-workflow");
          await page.waitForSelector("#trust-accept");
          await page.click("#trust-accept");
          await waitText("#workflow-output", /hello from the workflow/);
          await waitText(".run-out .log-head", /succeeded/);
          // the run's output is on the page: the dock does not repeat it
          assertEquals(await page.$(".dock .op[data-op='run greet']"), null);
          // the output scrolled to the bottom of the view, where the panels are
          await page.$eval(
            "#workflow-output",
            (e: { scrollIntoView(o: unknown): void }) => e.scrollIntoView({ block: "end" }),
          );
          await shot("toast-output");
          const out: Box = await page.$eval("#workflow-output", (e: { getBoundingClientRect(): Box }) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          });
          assert(out.y + out.height <= 860, `the output is in view: ${JSON.stringify(out)}`);
          const panels: Box[] = await page.$$eval(
            ".dock > *",
            (es: { getBoundingClientRect(): Box }[]) =>
              es.map((e) => {
                const r = e.getBoundingClientRect();
                return { x: r.x, y: r.y, width: r.width, height: r.height };
              }),
          );
          assert(panels.length >= 1, "the failed start is in the dock");
          // the dock is the bottom strip of the window, below the page that scrolls
          const dock: Box = await page.$eval("#dock", (e: { getBoundingClientRect(): Box }) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          });
          assertEquals(Math.round(dock.y + dock.height), 860, JSON.stringify(dock));
          assert(
            out.y + out.height <= dock.y,
            `the output ends above the dock: ${JSON.stringify([out, dock])}`,
          );
          for (const p of panels) {
            const apart = p.x >= out.x + out.width || p.x + p.width <= out.x || p.y >= out.y + out.height ||
              p.y + p.height <= out.y;
            assert(apart, `a panel ${JSON.stringify(p)} over the output ${JSON.stringify(out)}`);
          }
          // what is drawn at each point of the output is the output
          const hits: boolean[] = await page.$eval("#workflow-output", (e: {
            getBoundingClientRect(): Box;
            contains(n: unknown): boolean;
          }) => {
            const r = e.getBoundingClientRect();
            const res = [];
            for (const fx of [0.05, 0.5, 0.95]) {
              for (const fy of [0.05, 0.5, 0.95]) {
                res.push(e.contains(document.elementFromPoint(r.x + r.width * fx, r.y + r.height * fy)));
              }
            }
            return res;
          });
          assertEquals(
            hits,
            hits.map(() => true),
          );
          assertEquals(pageErrors, []);
        },
      );
    } finally {
      await browser?.close().catch(() => {});
      try {
        ui.kill("SIGINT");
      } catch { /* exited */ }
      await ui.status;
      await ui.stderr.cancel().catch(() => {});
      await w.k(["delete", GROUP, "--group", "--force", "--purge"]).catch(() => {});
    }
  },
);
