/**
 * Issue 80, black-box: what follows a session's pod follows the new one. The real kubectl deletes the
 * session's pod (`kubectl delete pod -l kodama.dev/session=NAME`, what an eviction, a preemption or a lost
 * node amount to); its Job makes a new pod under a new name on the same volumes. The background sync goes
 * on against the new pod both ways, `agent logs -f` shows what the run's log gets after the replacement,
 * and each says exactly once what happened (`session NAME: pod deleted; back in N s`).
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster, waitUntil } from "../cluster/harness.ts";
import { objectNames } from "../../src/session/spec/names.ts";
import { podOf, purge, SESSION_IMAGE, type SessionWorld, withSessionWorld } from "./_session.ts";
import { readLocal, syncSide } from "./_sync.ts";

const LINE = /session (\S+): pod deleted; back in \d+ (s|min)/g;

/** Delete the session's pod with the real kubectl, and wait until a new one of the session's runs. */
async function replacePod(w: SessionWorld, name: string): Promise<string> {
  const first = await podOf(w, name);
  assert(first, "the session's pod");
  const d = await w.kc(["delete", "pod", "-l", `kodama.dev/session=${name}`, "--wait=false"]);
  assertEquals(d.code, 0, d.stderr);
  let fresh = "";
  await waitUntil(
    async () => {
      fresh = await podOf(w, name);
      return fresh !== first && fresh !== "" && (await w.status(name)).phase === "Running";
    },
    120_000,
    "the replacement pod Running",
  );
  return fresh;
}

withSessionWorld("follow: the background sync goes on against the replacement pod, said once", {
  timeoutMs: 5 * 60_000,
}, async (_t, w) => {
  const name = "fs";
  const root = join(w.cwd, "proj");
  await Deno.mkdir(root);
  await Deno.writeTextFile(join(root, "a.txt"), "one\n");
  const side = syncSide(w, name);
  try {
    const s = await w.k(["start", name, "--image", SESSION_IMAGE, "--sync", root]);
    assertEquals(s.code, 0, s.stderr);
    await side.until(
      "the background sync watching",
      async () => (await w.syncStatus(name)).state === "watching",
    );
    await side.until("a.txt in the pod", async () => (await side.podCat("a.txt")) === "one\n");
    const fresh = await replacePod(w, name);
    // a local edit goes to the new pod; an edit in the new pod comes back
    await Deno.writeTextFile(join(root, "b.txt"), "made here after\n");
    await side.until(
      "b.txt in the new pod",
      async () => (await side.podCat("b.txt")) === "made here after\n",
      120_000,
    );
    await side.pod("echo 'made in the new pod' > c.txt");
    await side.until(
      "c.txt here",
      async () => (await readLocal(join(root, "c.txt"))) === "made in the new pod\n",
      60_000,
    );
    const log = await side.log();
    assertEquals([...log.matchAll(LINE)].length, 1, log);
    assertEquals(log.match(LINE)![0].split(":")[0], `session ${name}`);
    // the next start of the sync goes to the new pod
    const cfg = JSON.parse(await Deno.readTextFile(join(w.home, "sync", name, "sync.json")));
    assertEquals(cfg.pod, fresh);
  } finally {
    await purge(w, name);
  }
});

// three lines, then a wait for the test's go-on (an event); the pod's end cuts it
const AGENT = `cat > /dev/null; for i in 1 2 3; do echo "before-$i"; done; : > "$HOME/.kodama/wait-mark"; ` +
  `while [ ! -e "$HOME/.kodama/go-on" ]; do sleep 0.1; done; echo never`;

withSessionWorld("follow: agent logs -f goes on on the replacement pod, said once", {
  timeoutMs: 5 * 60_000,
  // it plants the run's files in the home volume through the test server's own volume folder
  ignore: onRealCluster,
}, async (_t, w) => {
  const name = "fl";
  await Deno.writeTextFile(
    join(w.cwd, ".kodama.yaml"),
    `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
  );
  const kodama = join(w.c.testServer!.api.pvcDir("dev", objectNames(name).homePVC), ".kodama");
  const run = join(kodama, "runs", "1");
  try {
    const s = await w.k(["start", name, "--no-sync", "--image", SESSION_IMAGE]);
    assertEquals(s.code, 0, s.stderr);
    const r = await w.k(["agent", "run", name, "--prompt", "go"]);
    assertEquals(r.code, 0, r.stderr);
    await waitUntil(() => exists(join(kodama, "wait-mark")), 60_000, "the agent's wait");
    const child = w.spawn(["agent", "logs", name, "-f"]);
    let out = "", err = "";
    const reading = Promise.all([
      (async () => {
        for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
      })(),
      (async () => {
        for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
      })(),
    ]);
    await waitUntil(() => Promise.resolve(out.includes("before-3")), 60_000, "the first lines");
    const first = await podOf(w, name);
    const d = await w.kc(["delete", "pod", "-l", `kodama.dev/session=${name}`, "--wait=true"]);
    assertEquals(d.code, 0, d.stderr);
    // the old pod is gone: the run goes on as a resumed run would, its log on the home volume (the run's
    // resume itself is the pod runner's; here the run is made to look alive and to write again)
    for (const f of ["pod", "pid", "exit", "stopped"]) await Deno.remove(join(run, f)).catch(() => {});
    await waitUntil(
      async () => {
        const now = await podOf(w, name);
        return now !== "" && now !== first && (await w.status(name)).phase === "Running";
      },
      120_000,
      "the replacement pod Running",
    );
    await waitUntil(() => Promise.resolve(new RegExp(LINE.source).test(err)), 120_000, "the follow's line")
      .catch((e) => {
        throw new Error(`${(e as Error).message}: ${err}`);
      });
    await Deno.writeTextFile(join(run, "log"), "after-replace\n", { append: true });
    await waitUntil(
      () => Promise.resolve(out.includes("after-replace")),
      60_000,
      "the line after the replacement",
    )
      .catch((e) => {
        throw new Error(`${(e as Error).message}: ${err}`);
      });
    await Deno.writeTextFile(join(run, "exit"), "0\n");
    await child.status;
    await reading;
    const lines = out.split("\n").filter((l) => /^(before-\d|after-replace)$/.test(l));
    assertEquals(lines, ["before-1", "before-2", "before-3", "after-replace"], out);
    assertEquals([...err.matchAll(LINE)].length, 1, err);
    assertMatch(err, new RegExp(`^kodama: session ${name}: pod deleted; back in`, "m"));
    assert(!/was cut/.test(err), err);
  } finally {
    await purge(w, name);
  }
});

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

withSessionWorld("follow: an attach its pod's end cuts says so in one line and exits 1", {
  timeoutMs: 5 * 60_000,
}, async (_t, w) => {
  const name = "fa";
  try {
    const s = await w.k(["start", name, "--no-sync", "--image", SESSION_IMAGE]);
    assertEquals(s.code, 0, s.stderr);
    const child = w.spawn(["attach", name, "--no-tty", "--command", "echo started; exec sleep 600"]);
    let out = "", err = "";
    const reading = Promise.all([
      (async () => {
        for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
      })(),
      (async () => {
        for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
      })(),
    ]);
    await waitUntil(() => Promise.resolve(out.includes("started")), 60_000, "the command's start");
    const d = await w.kc(["delete", "pod", "-l", `kodama.dev/session=${name}`, "--wait=false"]);
    assertEquals(d.code, 0, d.stderr);
    const code = (await child.status).code;
    await reading;
    assertEquals(code, 1, err);
    const said = err.match(
      /^kodama: session fa: pod deleted; the cluster is bringing it back: attach again/gm,
    );
    assertEquals(said?.length, 1, err);
  } finally {
    await purge(w, name);
  }
});

withSessionWorld("follow: agent wait goes on on the replacement pod, said once", {
  timeoutMs: 5 * 60_000,
  // it plants the run's files in the home volume through the test server's own volume folder
  ignore: onRealCluster,
}, async (_t, w) => {
  const name = "fw";
  await Deno.writeTextFile(
    join(w.cwd, ".kodama.yaml"),
    `agent:\n  command: [sh, -c, ${JSON.stringify(AGENT)}]\n`,
  );
  const kodama = join(w.c.testServer!.api.pvcDir("dev", objectNames(name).homePVC), ".kodama");
  const run = join(kodama, "runs", "1");
  try {
    const s = await w.k(["start", name, "--no-sync", "--image", SESSION_IMAGE]);
    assertEquals(s.code, 0, s.stderr);
    const r = await w.k(["agent", "run", name, "--prompt", "go"]);
    assertEquals(r.code, 0, r.stderr);
    await waitUntil(() => exists(join(kodama, "wait-mark")), 60_000, "the agent's wait");
    const child = w.spawn(["agent", "wait", name]);
    const outP = new Response(child.stdout).text();
    const errP = new Response(child.stderr).text();
    const first = await podOf(w, name);
    // the first wait follows this pod before it goes (its wait.sh runs there): under load it starts late
    await waitUntil(
      async () =>
        (await w.sh(
          name,
          `for f in $(grep -l "KODAMA_POD_UID=$KODAMA_POD_UID" /proc/[0-9]*/environ 2>/dev/null); do ` +
            `grep -q "kodama-wai[t]" "\${f%environ}cmdline" 2>/dev/null && echo in; done`,
        )).stdout.includes("in"),
      60_000,
      "agent wait's exec in the pod",
    );
    const d = await w.kc(["delete", "pod", "-l", `kodama.dev/session=${name}`, "--wait=true"]);
    assertEquals(d.code, 0, d.stderr);
    // a wait begun while the pod comes back (the Job's back-off: some seconds) waits for it too
    const late = w.spawn(["agent", "wait", name]);
    const lateOut = new Response(late.stdout).text();
    const lateErr = new Response(late.stderr).text();
    // as in the agent logs -f case: the run made to look alive again, as its resume would
    for (const f of ["pod", "pid", "exit", "stopped"]) await Deno.remove(join(run, f)).catch(() => {});
    await waitUntil(
      async () => {
        const now = await podOf(w, name);
        return now !== "" && now !== first && (await w.status(name)).phase === "Running";
      },
      120_000,
      "the replacement pod Running",
    );
    // the run ends (on the new pod, whenever the wait took it up)
    await Deno.writeTextFile(join(run, "exit"), "0\n");
    const code = (await child.status).code;
    const [out, err] = await Promise.all([outP, errP]);
    assertEquals(code, 0, `${out}\n${err}`);
    assertMatch(out, /^fw\trun 1\t/m);
    assertEquals([...err.matchAll(LINE)].length, 1, err);
    const lateCode = (await late.status).code;
    const [lo, le] = await Promise.all([lateOut, lateErr]);
    assertEquals(lateCode, 0, `${lo}\n${le}`);
    assertMatch(lo, /^fw\trun 1\t/m);
  } finally {
    await purge(w, name);
  }
});
