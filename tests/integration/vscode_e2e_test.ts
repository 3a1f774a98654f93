/**
 * The VS Code extension in a real VS Code: the packaged .vsix installed into code-server, driven in headless
 * Chromium. It opens a Deployment manifest, puts the cursor in it, runs "Kodama: Exec in Pod…" from the
 * Command Palette, checks the QuickPick offers exactly that Deployment's pods, picks one, types a command
 * and reads its output in the terminal, which stays after the command ends (a task terminal: "Press any key to
 * close").
 *
 * Opt-in: KODAMA_VSCODE_E2E=1. It needs editors/vscode/kodama.vsix (`npm run package`) and code-server
 * (`editors/vscode/scripts/e2e-setup.sh` installs Node 24 and code-server into editors/vscode/.e2e, minutes
 * of native builds; KODAMA_CODE_SERVER names another code-server), and Debian's chromium (KODAMA_CHROMIUM).
 * KODAMA_VSCODE_SCREENSHOT=PATH saves the pods QuickPick as a PNG (docs/img/vscode-exec.png),
 * KODAMA_VSCODE_TERMINAL_SCREENSHOT=PATH the terminal with the output (docs/img/vscode-exec-terminal.png), and
 * KODAMA_VSCODE_SHOTS=DIR a screenshot after each step and at the end, pass or fail (to diagnose a failure).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { clusterTest } from "../cluster/fixture.ts";
import { CONFIG, MAIN, runKodama } from "../cli/_run.ts";

// functions handed to the page run there, where this exists
// deno-lint-ignore no-explicit-any
declare const document: any;

const ON = Deno.env.get("KODAMA_VSCODE_E2E") === "1";
const EXT = new URL("../../editors/vscode/", import.meta.url);
const CHROMIUM = Deno.env.get("KODAMA_CHROMIUM") ?? "/usr/bin/chromium";

const MANIFEST = `# the api Deployment of the demo world
apiVersion: v1
kind: ConfigMap
metadata: { name: api-settings, namespace: prod }
data: { level: debug }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: registry.example.com/demo/http-echo:1.0
`;

async function codeServer(): Promise<string> {
  const given = Deno.env.get("KODAMA_CODE_SERVER");
  if (given) return given;
  const setup = new URL("scripts/e2e-setup.sh", EXT).pathname;
  const r = await new Deno.Command("bash", { args: [setup], stdout: "piped", stderr: "inherit" }).output();
  if (r.code !== 0) throw new Error(`e2e-setup.sh failed (exit ${r.code})`);
  return new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!;
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

clusterTest("vscode e2e: Exec in Pod from a manifest in code-server", {
  seed: "demo",
  ignore: !ON,
  timeoutMs: 1_200_000,
}, async (t, c) => {
  const vsix = new URL("kodama.vsix", EXT).pathname;
  assert(
    await Deno.stat(vsix).then(() => true, () => false),
    `${vsix} missing: cd editors/vscode && npm run package`,
  );
  const cs = await codeServer();
  const tmp = await Deno.makeTempDir({ prefix: "kodama-vscode-e2e-" });
  const ws = `${tmp}/workspace`;
  const userData = `${tmp}/user`;
  const exts = `${tmp}/extensions`;
  await Deno.mkdir(ws, { recursive: true });
  await Deno.mkdir(`${userData}/User`, { recursive: true });
  await Deno.writeTextFile(`${ws}/deploy.yaml`, MANIFEST);
  // kodama as the extension finds it: a wrapper for `deno run main.ts` (kodama.path)
  const wrapper = `${tmp}/kodama`;
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-prompt --config "${CONFIG}" "${MAIN}" "$@"\n`,
  );
  await Deno.chmod(wrapper, 0o755);
  await Deno.writeTextFile(
    `${userData}/User/settings.json`,
    JSON.stringify({
      "kodama.path": wrapper,
      "kodama.kubeconfig": c.kubeconfig,
      "workbench.startupEditor": "none",
      "workbench.tips.enabled": false,
      "security.workspace.trust.enabled": false,
      "terminal.integrated.gpuAcceleration": "off",
      "editor.minimap.enabled": false,
      "telemetry.telemetryLevel": "off",
      "extensions.autoCheckUpdates": false,
      "update.mode": "none",
      "workbench.colorTheme": "Default Dark Modern",
      "workbench.secondarySideBar.defaultVisibility": "hidden",
      "chat.disableAIFeatures": true,
    }),
  );
  const env = { KODAMA_HOME: `${tmp}/home`, KUBECONFIG: c.kubeconfig, NO_COLOR: "1" };
  const apiPods = (await runKodama(["pods", "-n", "prod", "-l", "app=api", "-o", "name"], { env })).stdout
    .trim().split("\n").map((l) => l.replace(/^pod\//, "")).sort();
  assertEquals(apiPods.length, 2);

  await t.step("the .vsix installs into code-server", async () => {
    const r = await new Deno.Command(cs, {
      args: ["--extensions-dir", exts, "--user-data-dir", userData, "--install-extension", vsix],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr));
    const list = await new Deno.Command(cs, {
      args: ["--extensions-dir", exts, "--user-data-dir", userData, "--list-extensions"],
      stdout: "piped",
      stderr: "null",
    }).output();
    assertStringIncludes(new TextDecoder().decode(list.stdout), "kodama.kodama");
  });

  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const server = new Deno.Command(cs, {
    args: [
      "--auth",
      "none",
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--extensions-dir",
      exts,
      "--user-data-dir",
      userData,
      ws,
    ],
    env,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const puppeteer = (await import("puppeteer-core")).default;
  // deno-lint-ignore no-explicit-any
  let browser: any;
  let snap = async (_name: string) => {};
  try {
    await until("code-server to answer", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const shots = Deno.env.get("KODAMA_VSCODE_SHOTS");
    let n = 0;
    snap = async (name: string) => {
      if (shots) await page.screenshot({ path: `${shots}/${String(++n).padStart(2, "0")}-${name}.png` });
    };
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`, {
      waitUntil: "domcontentloaded",
      timeout: 180_000,
    });
    await page.waitForSelector(".monaco-workbench", { timeout: 180_000 });

    await t.step(
      "the extension is active: its status bar shows the kubeconfig's context / namespace",
      async () => {
        // "admin / default": the test cluster's current context, read through the CLI (shownConnection)
        const items = (): Promise<string[]> =>
          page.evaluate(() =>
            [...document.querySelectorAll(".statusbar-item")].map((e) =>
              `${e.textContent ?? ""} [${e.querySelector("[aria-label]")?.getAttribute("aria-label") ?? ""}]`
            )
          );
        await until(
          "the kodama status bar item",
          async () => (await items()).some((t) => t.includes("admin / default")),
          300_000,
        ).catch(async (e) => {
          await snap("status-bar");
          throw new Error(`${e.message}; the status bar: ${(await items()).join(" | ")}`);
        });
      },
    );

    await t.step("open deploy.yaml and put the cursor in the Deployment", async () => {
      // the Explorer's row (Quick Open searches files with ripgrep, which code-server's install fetches
      // from the internet; it is not there on machines that reach only the npm registry)
      // the Explorer re-renders its rows while the workbench loads: find and click again until it opens
      const editorText = () =>
        page.evaluate(() =>
          (document.querySelector(".monaco-editor .view-lines")?.textContent ?? "").replace(/\u00a0/g, " ")
        ) as Promise<string>;
      await until("the editor to show the manifest", async () => {
        if ((await editorText()).includes("kind: Deployment")) return true;
        const row = await page.$(".monaco-list-row[aria-label='deploy.yaml']");
        await row?.click().catch(() => {});
        return false;
      }, 300_000);
      // a click on `  name: api`, in the Deployment document (the file's second)
      const clicked = await until("a click on `  name: api`", async () => {
        for (const l of await page.$$(".monaco-editor .view-line")) {
          const text: string = await l.evaluate((e: { textContent: string }) => e.textContent);
          if (text.replace(/\u00a0/g, " ") === "  name: api") {
            await l.click();
            return true;
          }
        }
        return false;
      }, 60_000);
      assert(clicked, "no `  name: api` line in the editor");
      await snap("manifest");
    });

    await t.step("Kodama: Exec in Pod… offers the Deployment's pods; pick one, run hostname", async () => {
      await page.keyboard.press("F1");
      await page.waitForSelector(".quick-input-widget:not([style*='display: none']) input", {
        timeout: 30_000,
      });
      await page.keyboard.type("Kodama: Exec in Pod");
      // click the row itself: Enter takes the palette's first match, which may be "Exec in All Matching Pods…"
      await until("Kodama: Exec in Pod… in the palette, clicked", async () => {
        for (const row of await page.$$(".quick-input-list .monaco-list-row")) {
          const text: string = await row.evaluate((e: { textContent: string }) => e.textContent);
          if (text.replace(/\u00a0/g, " ").startsWith("Kodama: Exec in Pod…")) {
            await row.click();
            return true;
          }
        }
        return false;
      });
      const rows = await until("the pods QuickPick", async () => {
        const r: { title: string; rows: string[] } = await page.evaluate(() => ({
          title: (document.querySelector(".quick-input-title")?.textContent ?? "").replace(/\u00a0/g, " "),
          rows: [...document.querySelectorAll(".quick-input-list .monaco-list-row")].map((
            e: { textContent: string | null },
          ) => (e.textContent ?? "").replace(/\u00a0/g, " ")),
        }));
        return r.title.includes("Exec in Pod") && r.rows.length ? r : undefined;
      });
      assertStringIncludes(rows.title, "Deployment api (app=api) in prod");
      // a row's text is its label (the pod's name) and its description (ready, phase)
      assertEquals(rows.rows.length, apiPods.length, rows.rows.join(" | "));
      const labels = rows.rows.map((r) => apiPods.find((p) => r.startsWith(p)));
      assertEquals([...labels].sort(), apiPods);
      const shot = Deno.env.get("KODAMA_VSCODE_SCREENSHOT");
      if (shot) await page.screenshot({ path: shot });
      const picked = labels[0]!;
      await page.keyboard.press("Enter");
      // the command box: wait until its input has the focus (keys typed before that reach the editor)
      await until(
        "the command box, focused",
        () =>
          page.evaluate(() => {
            const a = document.activeElement;
            return a?.tagName === "INPUT" &&
              (a.getAttribute("placeholder") ?? "").startsWith("command to run") &&
              (document.querySelector(".quick-input-title")?.textContent ?? "").includes("Exec in ");
          }),
      );
      await page.keyboard.type("hostname");
      await until(
        "`hostname` in the command box",
        () => page.evaluate(() => document.activeElement?.value === "hostname"),
      );
      await snap("command");
      await page.keyboard.press("Enter");
      // the terminal's rows (the DOM renderer: gpuAcceleration off), one string per row
      const terminalRows = (): Promise<string[]> =>
        page.evaluate(() =>
          [...document.querySelectorAll(".xterm-rows > div")].map((e) =>
            (e.textContent ?? "").replace(/\u00a0/g, " ").trimEnd()
          )
        );
      await until(
        "the pod's hostname alone on a terminal row",
        async () => (await terminalRows()).includes(picked),
      );
      // the command has ended and its output stayed: the task terminal waits for a key to close
      const lines = await until("the terminal kept after the command ended", async () => {
        const rows = await terminalRows();
        return rows.some((r) => /press any key to close/i.test(r)) ? rows : undefined;
      });
      assert(lines.includes(picked), lines.join("\n"));
      // the task's echo of its argv (rows wrap: joined without a separator)
      assertStringIncludes(lines.join(""), `exec --namespace=prod --pod=${picked} --stdin --tty -- hostname`);
      await snap("output");
      const out = Deno.env.get("KODAMA_VSCODE_TERMINAL_SCREENSHOT");
      if (out) await page.screenshot({ path: out });
      // the manifest is as it was: nothing typed reached the editor
      const dirty = await page.evaluate(() => !!document.querySelector(".tab.dirty"));
      assertEquals(dirty, false, "deploy.yaml was edited");
    });
  } finally {
    await snap("last").catch(() => {});
    await browser?.close().catch(() => {});
    try {
      server.kill("SIGTERM");
    } catch { /* gone */ }
    await server.status;
    // code-server's own logs (the extension host's among them) beside the screenshots
    const shots = Deno.env.get("KODAMA_VSCODE_SHOTS");
    if (shots) {
      await new Deno.Command("cp", { args: ["-r", `${userData}/logs`, `${shots}/logs`] }).output().catch(
        () => {},
      );
    }
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
