/**
 * `kodama ui` prints no runtime or library warning into the user's terminal (issue 52.6): a page load, its
 * live event stream going away, and the tab's icon leave stderr with kodama's own line only.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { drain, readUntil, withSessionWorld } from "./_session.ts";

withSessionWorld("ui: a page load and a closed event stream print no warning; /favicon.ico is served", {
  ignore: onRealCluster,
  timeoutMs: 120_000,
}, async (_t, w) => {
  const ui = w.spawn(["ui"]);
  const err = drain(ui.stderr.getReader());
  try {
    const { text, rest } = await readUntil(ui.stdout, /\n/);
    rest.releaseLock();
    const url = new URL(text.trim().split(/\s/).find((s) => s.startsWith("http"))!);
    // the page opened with the token carries its own credential, sent in a header (no cookie)
    const page = await fetch(url);
    assertEquals(page.status, 200);
    const session = /<meta name="kodama-session" content="([0-9a-f]+)">/.exec(await page.text())?.[1];
    const headers = { authorization: `Bearer ${session}` };
    // the page's live stream: read its first event, then the page goes away
    const events = await fetch(new URL("/api/events", url), { headers });
    const reader = events.body!.getReader();
    const got = new TextDecoder().decode((await reader.read()).value);
    assertStringIncludes(got, "event: sessions");
    await reader.cancel();
    const info = await fetch(new URL("/api/info", url), { headers });
    assertEquals(info.status, 200);
    await info.text();
    const icon = await fetch(new URL("/favicon.ico", url));
    assertEquals(icon.status, 200);
    assertEquals(icon.headers.get("content-type"), "image/svg+xml");
    assertStringIncludes(await icon.text(), "<svg");
    // a warning would come when the server closes what the page left
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    ui.kill("SIGINT");
    await ui.status;
  }
  const stderr = await err;
  assert(!/Deno\.serve|warning|deprecat/i.test(stderr), stderr);
});
