/**
 * Liveness without pids (#36), black-box: a background sync is SIGKILLed (no cleanup runs, its
 * status.json still says "watching" with its pid), an unrelated process of the user's then holds that
 * very pid (pid reuse, made to happen by writing the bystander's pid where the dead sync's was), and
 * `sync stop`, `stop` and `list` must never signal it. The same for a `port-forward --detach` record.
 * Runs "as darwin" too (tests/os_matrix), where the old pid probe (SIGCONT) took any live pid for ours.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { podOf, purge, SESSION_IMAGE, sessionWorld } from "./_session.ts";
import { clusterTest } from "../cluster/fixture.ts";
import { bystander } from "../_bystander.ts";

const NAME = "plat-live";

async function gone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
      .output();
    const st = new TextDecoder().decode(r.stdout).trim();
    if (!r.success || st === "" || st.startsWith("Z")) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`process ${pid} did not end`);
}

clusterTest(
  "liveness: a SIGKILLed background sync's pid, now another process's, is never signalled by stop",
  { seed: "sessions" },
  async (t, c) => {
    const w = await sessionWorld(c);
    const root = `${w.cwd}/project`;
    await Deno.mkdir(root);
    await Deno.writeTextFile(`${root}/a.txt`, "a\n");
    const signals = `${w.cwd}/bystander-signals`;
    const others: Deno.ChildProcess[] = [];
    try {
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE, "--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
      const statusPath = `${w.home}/sync/${NAME}/status.json`;
      const st = JSON.parse(await Deno.readTextFile(statusPath));
      assert(st.pid, JSON.stringify(st));

      await t.step(
        "port-forward: a SIGKILLed --detach forward is dropped from list; stop never signals its pid",
        async () => {
          const pf = await w.k([
            "port-forward",
            "-n",
            "dev",
            `pod/${await podOf(w, NAME)}`,
            ":8080",
            "--detach",
          ]);
          assertEquals(pf.code, 0, pf.stderr);
          const id = pf.stdout.trim().split("\n")[0];
          const rec = `${w.home}/port-forwards/${id}.json`;
          const r0 = JSON.parse(await Deno.readTextFile(rec));
          Deno.kill(r0.pid, "SIGKILL");
          await gone(r0.pid);
          const other = await bystander(signals);
          others.push(other);
          await Deno.writeTextFile(rec, JSON.stringify({ ...r0, pid: other.pid }, null, 2));
          const stop = await w.k(["port-forward", "stop", id]);
          // the dead forward's record is gone (list dropped it): not found
          assertEquals(stop.code, 3, stop.stderr);
          assertEquals((await w.k(["port-forward", "list", "-o", "json"])).stdout.includes(id), false);
          // fixed: proves the bystander gets no signal in 500 ms (what does not happen has no event)
          await new Promise((res) => setTimeout(res, 500));
          assertEquals(await Deno.readTextFile(signals).catch(() => ""), "", "the bystander got a signal");
        },
      );
      await t.step(
        "SIGKILL the background sync: list says Error, status says it is not running",
        async () => {
          Deno.kill(st.pid, "SIGKILL");
          await gone(st.pid);
          // it could not say so itself: the file still names it, watching
          assertMatch(await Deno.readTextFile(statusPath), /"state": "watching"/);
          assertMatch((await w.k(["list"])).stdout, new RegExp(`${NAME}\\s+dev\\s+Running\\s+Error`));
          const s = await w.k(["sync", "status", NAME]);
          assertStringIncludes(s.stdout, "not running");
        },
      );

      await t.step(
        "an unrelated process now has that pid: sync stop, stop and list never signal it",
        async () => {
          const other = await bystander(signals);
          others.push(other);
          // pid reuse: the status file (and the dead sync's leftover lock file) now name the bystander
          const s = JSON.parse(await Deno.readTextFile(statusPath));
          await Deno.writeTextFile(statusPath, JSON.stringify({ ...s, pid: other.pid }, null, 2));
          for (const e of Deno.readDirSync(`${w.home}/sync/${NAME}`)) {
            if (/^daemon\.\d+\.lock$/.test(e.name)) {
              Deno.renameSync(
                `${w.home}/sync/${NAME}/${e.name}`,
                `${w.home}/sync/${NAME}/daemon.${other.pid}.lock`,
              );
            }
          }
          assertMatch((await w.k(["list"])).stdout, new RegExp(`${NAME}\\s+dev\\s+Running\\s+Error`));
          const stop = await w.k(["sync", "stop", NAME]);
          assertEquals(stop.code, 0, stop.stderr);
          assertStringIncludes(stop.stderr, "it was not running");
          assertEquals((await w.k(["stop", NAME])).code, 0);
          // fixed: proves the bystander gets no signal in 500 ms (what does not happen has no event)
          await new Promise((res) => setTimeout(res, 500));
          assertEquals(await Deno.readTextFile(signals).catch(() => ""), "", "the bystander got a signal");
          const ps = await new Deno.Command("ps", {
            args: ["-o", "stat=", "-p", String(other.pid)],
            stdout: "piped",
          })
            .output();
          assert(
            ps.success && !new TextDecoder().decode(ps.stdout).trim().startsWith("Z"),
            "the bystander runs on",
          );
        },
      );
    } finally {
      for (const o of others) {
        try {
          o.kill("SIGKILL");
        } catch { /* ended */ }
        await o.status;
      }
      await purge(w, NAME);
    }
  },
);
