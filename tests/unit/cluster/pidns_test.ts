/**
 * A test-server container's processes, as on a node (#83): its own PID namespace with its main process as
 * PID 1 and a /proc of its own, so a pod sees neither this machine's processes nor another pod's; an exec
 * and an exec probe join the container's namespace; the end of the main process ends every other process
 * of it.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import fs from "node:fs";
import { isReady, makePod, phaseIs, type Rig, startRig, wsExec } from "./_runtime_helpers.ts";
import { KODAMA_TEST_IMAGE } from "../../cluster/harness.ts";
import { podFsInfo } from "../../cluster/runtime/podns.ts";

const info = podFsInfo();
const opts = {
  sanitizeOps: false,
  sanitizeResources: false,
  // only where containers get PID namespaces (namespace mode whose PID trial passed)
  ignore: info.mode !== "namespace" || info.pidns === false,
};

/** What an exec's `sh -c script` prints (stdout), failing the test on a non-zero exit. */
async function sh(rig: Rig, pod: string, script: string): Promise<string> {
  const r = await wsExec(rig, pod, { command: ["sh", "-c", script], stdout: "true", stderr: "true" });
  assertEquals(JSON.parse(r.status).status, "Success", `${script}: ${r.stderr}`);
  return r.stdout.toString();
}

/** Each process the pod sees: "PID ARGV" (argv joined by blanks), from its /proc. */
const LIST =
  'for d in /proc/[0-9]*; do printf "%s %s\\n" "${d#/proc/}" "$(tr "\\0" " " < "$d/cmdline")"; done';

/** The main process says its pid (`$$` would be the kubelet's `$`): the shell reads it, no child. */
const MAIN = "read -r p _ < /proc/self/stat; echo pid=$p; sleep 7272d & wait";

/** LIST's output as pid -> argv, the command's directory left out (`/usr/bin/sh -c x` is `sh -c x`). */
function parse(out: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const l of out.trim().split("\n")) {
    const sp = l.indexOf(" ");
    m.set(Number(l.slice(0, sp)), l.slice(sp + 1).replace(/^\S*\//, "").trimEnd());
  }
  return m;
}

/** Host pids whose argv is exactly `argv`. */
function hostPids(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  const out: number[] = [];
  for (const n of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (fs.readFileSync(`/proc/${n}/cmdline`, "latin1") === want) out.push(Number(n));
    } catch { /* gone */ }
  }
  return out;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    assert(Date.now() < end, `timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("pod processes: a PID namespace per container, PID 1 is the main process", opts, async (t) => {
  const rig = await startRig();
  const { host, runtime } = rig;
  const tag = crypto.randomUUID().slice(0, 8);
  try {
    // a neighbour with a process whose argv and environment carry a marker: no other pod may see it
    host.add(makePod("other", {
      containers: [{
        name: "c",
        image: KODAMA_TEST_IMAGE,
        command: ["sh", "-c", "sleep 7171d & wait"],
        env: [{ name: "NEIGHBOUR_SECRET", value: `secret-${tag}` }],
      }],
    }));
    host.add(makePod("box", {
      containers: [{
        name: "main",
        image: KODAMA_TEST_IMAGE,
        command: ["sh", "-c", MAIN],
      }, {
        name: "side",
        image: KODAMA_TEST_IMAGE,
        command: ["sh", "-c", "sleep 7373d & wait"],
      }],
    }));
    runtime.startPod(host.getPod("default", "other")!);
    runtime.startPod(host.getPod("default", "box")!);
    await host.waitFor("default", "other", isReady);
    await host.waitFor("default", "box", isReady);
    // Ready comes when a shell starts, not when it has forked: wait for the sleeps
    await until(
      "the sleeps",
      () => [7171, 7272, 7373].every((n) => hostPids(["sleep", `${n}d`]).length === 1),
    );

    await t.step("/proc shows the container's own processes only; its main process is PID 1", async () => {
      const seen = await sh(rig, "box", `${LIST}; echo; grep -l NEIGHBOUR_SECRET /proc/[0-9]*/environ || :`);
      const [list, grep] = seen.split("\n\n");
      const procs = parse(list);
      assertEquals(procs.get(1), `sh -c ${MAIN}`, seen);
      // the rest: its child and this exec (its shell, the loop's subshells and tr). Nothing of this
      // machine's, of the pod's other container or of another pod
      for (const [pid, argv] of procs) {
        if (pid === 1) continue;
        assert(
          argv === "sleep 7272d" || /^(sh -c for d in \/proc|tr )/.test(argv) || argv === "",
          `pod sees ${pid}: ${argv}`,
        );
      }
      assert([...procs.values()].includes("sleep 7272d"), seen);
      assert(procs.size < 10, seen);
      assertEquals(grep.trim(), "", "the neighbour's environment is out of sight");
      const side = await sh(rig, "box", "ps -e -o args= 2>/dev/null || " + LIST);
      assert(!side.includes("7373d") && !side.includes("7171d"), side);
      const log = await (await fetch(`${rig.url}/api/v1/namespaces/default/pods/box/log?container=main`))
        .text();
      assertEquals(log, "pid=1\n");
    });

    await t.step("an exec joins the container's namespace: its processes are the container's", async () => {
      // a background process started by one exec is seen by the next, with the container's PID 1
      const bg = await sh(rig, "box", "sleep 7474d >/dev/null 2>&1 & echo $!");
      const next = await sh(rig, "box", LIST);
      const procs = parse(next);
      assertEquals(procs.get(Number(bg.trim())), "sleep 7474d", next);
      assertEquals(procs.get(1), `sh -c ${MAIN}`, next);
      // the other container of the pod has a namespace of its own (k8s: shareProcessNamespace false)
      const side = await wsExec(rig, "box", {
        container: "side",
        command: ["sh", "-c", LIST],
        stdout: "true",
      });
      const s = side.stdout.toString();
      assertEquals(parse(s).get(1), "sh -c sleep 7373d & wait", s);
      assert(!s.includes("7272d") && !s.includes("7474d"), s);
    });

    await t.step(
      "an exec probe runs in the container's namespace: its PID 1 is the main process",
      async () => {
        // Ready only if the probe's /proc/1 is the container's main process (this machine's is its init)
        host.add(makePod("probed", {
          containers: [{
            name: "c",
            image: KODAMA_TEST_IMAGE,
            command: ["sh", "-c", "sleep 7878d & wait"],
            readinessProbe: {
              exec: { command: ["grep", "-q", "7878d", "/proc/1/cmdline"] },
              periodSeconds: 1,
            },
          }],
        }));
        runtime.startPod(host.getPod("default", "probed")!);
        await host.waitFor("default", "probed", isReady, 15_000);
      },
    );

    await t.step("an exec probe past its timeout is killed with what it started", async () => {
      host.add(makePod("slowprobe", {
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          command: ["sh", "-c", "sleep 8080d & wait"],
          readinessProbe: {
            exec: { command: ["sh", "-c", "echo x >> /tmp/attempts; sleep 7979d"] },
            timeoutSeconds: 1,
            periodSeconds: 1,
          },
        }],
      }));
      runtime.startPod(host.getPod("default", "slowprobe")!);
      await host.waitFor("default", "slowprobe", (p) => p.status?.phase === "Running");
      const attempts = async () =>
        Number((await sh(rig, "slowprobe", "cat /tmp/attempts 2>/dev/null | wc -l")).trim());
      await until("three probes", async () => (await attempts()) >= 3, 20_000);
      // at most the attempt under way: none of the timed-out ones left its sleep behind
      assert(hostPids(["sleep", "7979d"]).length <= 1, `probe sleeps left: ${hostPids(["sleep", "7979d"])}`);
    });

    await t.step("the pod's TERM goes to each container's PID 1 alone, as a kubelet sends it", async () => {
      host.add(makePod("termed", {
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          command: [
            "sh",
            "-c",
            '(trap "echo child-got-term; exit 0" TERM; while :; do sleep 0.05; done) & ' +
            'trap "echo main-got-term; exit 0" TERM; echo up; wait',
          ],
        }],
      }));
      runtime.startPod(host.getPod("default", "termed")!);
      await host.waitFor("default", "termed", isReady);
      const log = async () =>
        await (await fetch(`${rig.url}/api/v1/namespaces/default/pods/termed/log`)).text();
      await until("the pod's shell", async () => (await log()).includes("up\n"));
      await runtime.stopPod("default", "termed", 10, { keep: true });
      const out = await log();
      assert(out.includes("main-got-term"), out);
      // the child had no TERM: the kernel killed it with its PID 1
      assert(!out.includes("child-got-term"), out);
    });

    await t.step("the end of the main process ends every other process of the container", async () => {
      host.add(makePod("brief", {
        restartPolicy: "Never",
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          // a child that left the main process's group and session, and the main process ends on demand
          command: [
            "sh",
            "-c",
            "setsid sleep 7575d >/dev/null 2>&1 & until [ -e /tmp/end ]; do sleep 0.05; done",
          ],
        }],
      }));
      runtime.startPod(host.getPod("default", "brief")!);
      await host.waitFor("default", "brief", isReady);
      // one through exec too, also out of its group
      await sh(rig, "brief", "setsid sleep 7676d >/dev/null 2>&1 &");
      await until(
        "both sleeps",
        () => hostPids(["sleep", "7575d"]).length + hostPids(["sleep", "7676d"]).length === 2,
      );
      // this exec's own shell may be killed with the namespace before it reports (the main process ends
      // within 50 ms of the file): its status is not the point, the pod's end below is
      await wsExec(rig, "brief", { command: ["sh", "-c", "touch /tmp/end"], stdout: "true", stderr: "true" });
      await host.waitFor("default", "brief", phaseIs("Succeeded"));
      await until(
        "the container's other processes are gone",
        () => hostPids(["sleep", "7575d"]).length === 0 && hostPids(["sleep", "7676d"]).length === 0,
      );
      // the neighbour is untouched
      assertEquals(hostPids(["sleep", "7171d"]).length, 1);
    });
  } finally {
    await rig.stop();
  }
});
