/**
 * The web UI's first open, as a user meets it (#53.4): `kodama ui` started, its printed URL (with the token)
 * opened at once in a fresh browser profile (a new browser context: no cache, no storage), until the session
 * list is shown; then warm reloads of the same tab (the browser's cache, the credential in sessionStorage, the
 * server's watches running). Each round starts its own `kodama ui`, so every first open meets a server that
 * has just printed its URL. The browser's start is not counted.
 *
 * Where the time goes comes from the page's performance timeline (navigation and resource timing, the page's
 * own mark): when the page's HTML, its script and the first session list arrived, how many requests and bytes
 * before the list showed.
 */
import type { Browser, Page } from "puppeteer-core";

// functions handed to the page run there
// deno-lint-ignore no-explicit-any
declare const document: any;
/** The timing entries the page's functions read (a resource's, or the document's: both have these). */
type Timing = PerformanceEntry & { responseEnd: number; transferSize: number };

export interface World {
  /** the namespace `kodama ui -n` shows */
  namespace: string;
  /** the session count the list shows */
  sessions: number;
  /** the rows that must be drawn (the rows in view of a long list) */
  rows: number;
}

export interface OpenRound {
  /** navigation to the list shown (ms, the page's clock: from its navigation start) */
  first: number;
  /** the same on warm reloads of the tab (median of the round's reloads) */
  warm: number;
  /** `kodama ui` started to its URL printed (not part of `first`) */
  serverStart: number;
  /** the first open's milestones, ms from its navigation start */
  html: number;
  script: number;
  events: number;
  /** requests made and bytes received before the list showed */
  requests: number;
  bytes: number;
}

/** `kodama ui -n NS` started; resolves with its printed URL and how long it took to print it. */
export async function spawnUi(
  argv: string[],
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; url: string; ms: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(argv[0], { args: argv.slice(1), env, stdout: "piped", stderr: "null" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error("kodama ui exited before printing its URL");
    first += r.value;
  }
  const ms = performance.now() - t0;
  // the rest is drained so the child never blocks on a full pipe
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return { child, url: first.trim(), ms };
}

export async function stopUi(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGINT");
  } catch { /* gone */ }
  await child.status;
}

/** Waits (in the page, on each DOM change) for the list of `w` shown; returns the page's clock then. */
export async function listShown(page: Page, w: World): Promise<number> {
  const h = await page.waitForFunction(
    (n: number, rows: number) =>
      document.querySelector("h1 .count")?.textContent === String(n) &&
        document.querySelectorAll("tr[data-session]").length >= rows
        ? performance.now()
        : 0,
    { polling: "mutation", timeout: 60_000 },
    w.sessions,
    w.rows,
  );
  return await h.jsonValue() as number;
}

/**
 * Milestones of a first open from the page's performance timeline (ms from its navigation start): its HTML
 * and script received, the first session list received (the page's `kodama:list` mark), and the requests
 * and bytes received before the list showed (the live stream, still open, is counted as one request).
 */
async function milestones(page: Page, shownAt: number) {
  const m = await page.evaluate((shown: number) => {
    const nav = performance.getEntriesByType("navigation")[0] as Timing;
    const res = performance.getEntriesByType("resource") as Timing[];
    const before = [nav, ...res].filter((r) => r.responseEnd <= shown);
    return {
      html: nav.responseEnd,
      script: res.find((r) => /\/assets\/app\.js$/.test(r.name))?.responseEnd ?? NaN,
      events: performance.getEntriesByName("kodama:list")[0]?.startTime ?? NaN,
      requests: before.length + 1,
      bytes: before.reduce((s, r) => s + r.transferSize, 0),
    };
  }, shownAt);
  // a value the page had not (NaN) comes back as null
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v ?? NaN])) as typeof m;
}

/**
 * One round in world `w`: a fresh `kodama ui`, its URL opened in a fresh profile, then `reloads` warm
 * reloads of that tab.
 */
export async function openRound(
  browser: Browser,
  argv: string[],
  env: Record<string, string>,
  w: World,
  reloads = 3,
): Promise<OpenRound> {
  const ui = await spawnUi(argv, env);
  const ctx = await browser.createBrowserContext();
  try {
    const page = await ctx.newPage();
    await page.setViewport({ width: 1360, height: 860 });
    // the wait starts before the navigation and carries on into the new document (the page's clock starts at
    // its navigation)
    const shown = listShown(page, w);
    await page.goto(ui.url, { waitUntil: "domcontentloaded" });
    const first = await shown;
    const m = await milestones(page, first);
    const warm: number[] = [];
    for (let i = 0; i < reloads; i++) {
      await page.reload({ waitUntil: "domcontentloaded" });
      warm.push(await listShown(page, w));
    }
    warm.sort((a, b) => a - b);
    return { first, warm: warm[Math.floor(warm.length / 2)], serverStart: ui.ms, ...m };
  } finally {
    await ctx.close();
    await stopUi(ui.child);
  }
}
