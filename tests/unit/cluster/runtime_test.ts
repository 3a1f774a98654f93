/** The runtime half against a fake RuntimeHost: pod life, processes, exec/attach/logs/port-forward. */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import WebSocket from "ws";
import { isReady, makePod, phaseIs, startRig, wsExec } from "./_runtime_helpers.ts";
import { KODAMA_TEST_IMAGE, waitUntil } from "../../cluster/harness.ts";
import { podFsInfo } from "../../cluster/runtime/podns.ts";

const namespaced = podFsInfo().mode === "namespace";

const opts = { sanitizeOps: false, sanitizeResources: false };
// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("runtime: pod processes, status, restarts, exec, logs, port-forward", opts, async (t) => {
  const rig = await startRig();
  const { host, runtime } = rig;
  try {
    await t.step("a sleep pod runs with the pod's env, hostname shim, mapped paths and PVC", async () => {
      host.add(makePod("web", {
        containers: [{
          name: "main",
          image: KODAMA_TEST_IMAGE,
          command: ["sleep", "1d"],
          workingDir: "/workspace",
          env: [{ name: "GREETING", value: "hi $(POD_NAME)" }, {
            name: "SECRET_VAL",
            valueFrom: { secretKeyRef: { name: "s", key: "k" } },
          }],
          volumeMounts: [{ name: "ws", mountPath: "/workspace" }, { name: "scratch", mountPath: "/scratch" }],
        }],
        volumes: [{ name: "ws", persistentVolumeClaim: { claimName: "data" } }, {
          name: "scratch",
          emptyDir: {},
        }],
      }));
      host.secrets.set("default/s", { data: { k: btoa("s3cret") } });
      runtime.startPod(host.getPod("default", "web")!);
      const pod = await host.waitFor("default", "web", isReady);
      assertEquals(pod.status!.phase, "Running");
      assertMatch(pod.status!.podIP, /^127\.\d+\.\d+\.\d+$/);
      const cs = pod.status!.containerStatuses[0];
      assertEquals([cs.name, cs.ready, cs.started, cs.restartCount], ["main", true, true, 0]);
      assert(cs.state.running.startedAt);
      assertMatch(cs.containerID, /^kodama:\/\/[0-9a-f]{64}$/);
      const types = pod.status!.conditions.filter((c: Any) => c.status === "True").map((c: Any) => c.type);
      for (const ty of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) {
        assert(types.includes(ty), ty);
      }
      assert(
        ["Scheduled", "Pulled", "Created", "Started"].every((r) => host.events.some((e) => e.reason === r)),
      );

      const r = await wsExec(rig, "web", {
        command: ["sh", "-c", 'hostname; echo "$GREETING|$SECRET_VAL|$POD_IP"; pwd -P; echo x > f.txt'],
        stdout: "true",
      });
      const [hn, env, cwd] = r.stdout.toString().trim().split("\n");
      assertEquals(hn, "web");
      assertEquals(env, `hi web|s3cret|${pod.status!.podIP}`);
      // with its own filesystem view the pod sees its mount path, as a real pod does; the fallback the host's
      assertEquals(cwd, namespaced ? "/workspace" : fs.realpathSync(host.pvcDir("default", "data")));
      assertEquals(fs.readFileSync(path.join(host.pvcDir("default", "data"), "f.txt"), "utf8"), "x\n");
      assertEquals(r.protocol, "v5.channel.k8s.io");
      assertEquals(JSON.parse(r.status), { metadata: {}, status: "Success" });
    });

    await t.step("exec separates stdout/stderr and reports the exit code as a Status", async () => {
      const r = await wsExec(rig, "web", {
        command: ["sh", "-c", "echo out; echo err >&2; exit 7"],
        stdout: "true",
        stderr: "true",
      }, { protocols: ["v4.channel.k8s.io"] });
      assertEquals(r.protocol, "v4.channel.k8s.io");
      assertEquals(r.stdout.toString(), "out\n");
      assertEquals(r.stderr.toString(), "err\n");
      assertEquals(JSON.parse(r.status), {
        metadata: {},
        status: "Failure",
        message:
          "command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 7], exit code 7",
        reason: "NonZeroExitCode",
        details: { causes: [{ reason: "ExitCode", message: "7" }] },
      });
    });

    await t.step("exec over the base64 protocol: text frames, ASCII channel digits", async () => {
      const ws = new WebSocket(
        `${
          rig.url.replace("http", "ws")
        }/api/v1/namespaces/default/pods/web/exec?command=echo&command=hi&stdout=true`,
        ["v4.base64.channel.k8s.io"],
      );
      const msgs: string[] = [];
      await new Promise((resolve, reject) => {
        ws.on("message", (m: Buffer, isBinary: boolean) => {
          msgs.push(isBinary ? "<binary>" : m.toString());
          if (!isBinary && m.toString().startsWith("3")) ws.terminate(); // the status: the last frame (as wsExec)
        });
        ws.on("close", resolve);
        ws.on("error", reject);
      });
      assertEquals(ws.protocol, "v4.base64.channel.k8s.io");
      assertEquals(msgs[0], "1" + btoa("hi\n"));
      assertEquals(JSON.parse(atob(msgs[1].slice(1))), { metadata: {}, status: "Success" });
      assertEquals(msgs[1][0], "3");
    });

    await t.step("exec of a missing command fails like the container runtime", async () => {
      const r = await wsExec(rig, "web", { command: ["no-such-cmd"], stdout: "true" });
      const st = JSON.parse(r.status);
      assertEquals(st.status, "Failure");
      assertStringIncludes(st.message, 'exec: "no-such-cmd": executable file not found in $PATH');
    });

    await t.step("exec: binary stdin round trip with v5 close, and 20 MB of stdout intact", async () => {
      const bin = randomBytes(300_000);
      const chunks = [bin.subarray(0, 100_000), bin.subarray(100_000)];
      const r = await wsExec(rig, "web", { command: ["cat"], stdin: "true", stdout: "true" }, {
        stdin: chunks,
        closeStdin: true,
      });
      assert(r.stdout.equals(bin), "binary stdin came back unchanged");
      const big = await wsExec(rig, "web", {
        command: [
          "sh",
          "-c",
          "head -c 20000000 /dev/zero | tr '\\0' 'k'; echo; sha256sum /dev/null >/dev/null",
        ],
        stdout: "true",
      });
      assertEquals(big.stdout.length, 20_000_001);
      const want = createHash("sha256").update(
        Buffer.concat([Buffer.alloc(20_000_000, "k"), Buffer.from("\n")]),
      )
        .digest("hex");
      assertEquals(createHash("sha256").update(big.stdout).digest("hex"), want);
    });

    await t.step("exec with a TTY: size from the resize channel, exit code propagates", async () => {
      const r = await wsExec(rig, "web", {
        command: ["sh", "-c", "stty size; exit 3"],
        stdout: "true",
        tty: "true",
      }, {
        resize: [{ Width: 123, Height: 45 }],
      });
      assertStringIncludes(r.stdout.toString(), "45 123");
      assertEquals(JSON.parse(r.status).details.causes[0].message, "3");
    });

    await t.step("attach: stdin reaches the main process, its output comes back, ends at exit", async () => {
      host.add(makePod("reader", {
        restartPolicy: "Never",
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          stdin: true,
          command: ["sh", "-c", "echo ready; read l; echo got:$l"],
        }],
      }));
      runtime.startPod(host.getPod("default", "reader")!);
      await host.waitFor("default", "reader", isReady);
      const r = await wsExec(rig, "reader", { stdin: "true", stdout: "true", stderr: "true" }, {
        kind: "attach",
        stdin: [Buffer.from("hello\n")],
      });
      assert(r.stdout.toString().endsWith("got:hello\n"), r.stdout.toString());
      assertEquals(JSON.parse(r.status), { metadata: {}, status: "Success" });
      await host.waitFor("default", "reader", phaseIs("Succeeded"));
    });

    await t.step("unknown container is refused before the upgrade", async () => {
      let msg = "";
      await wsExec(rig, "web", { command: ["true"], stdout: "true", container: "nope" }).catch((
        e,
      ) => (msg = e.message));
      assertStringIncludes(msg, "container nope is not valid for pod web");
    });

    await t.step("restartPolicy Never: Failed with the exit code; logs keep stdout and stderr", async () => {
      host.add(makePod("job", {
        restartPolicy: "Never",
        // containers share files only through a volume, as in a real pod
        volumes: [{ name: "shared", emptyDir: {} }],
        initContainers: [{
          name: "init",
          image: KODAMA_TEST_IMAGE,
          command: ["sh", "-c", "echo init-ran > /shared/init"],
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }],
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          command: ["sh", "-c", "cat /shared/init; echo oops >&2; exit 3"],
          volumeMounts: [{ name: "shared", mountPath: "/shared" }],
        }],
      }));
      runtime.startPod(host.getPod("default", "job")!);
      const pod = await host.waitFor("default", "job", phaseIs("Failed"));
      const term = pod.status!.containerStatuses[0].state.terminated;
      assertEquals([term.exitCode, term.reason], [3, "Error"]);
      assertEquals(pod.status!.initContainerStatuses[0].state.terminated.reason, "Completed");
      const logs = await fetch(`${rig.url}/api/v1/namespaces/default/pods/job/log?timestamps=true`);
      assertEquals(logs.headers.get("content-type"), "text/plain");
      const lines = (await logs.text()).trim().split("\n");
      assertEquals(lines.map((l) => l.replace(/^\S+ /, "")), ["init-ran", "oops"]);
      assertMatch(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z init-ran$/);
      const prev = await fetch(`${rig.url}/api/v1/namespaces/default/pods/job/log?previous=true`);
      assertEquals(prev.status, 400);
      assertEquals((await prev.json()).message, 'previous terminated container "c" in pod "job" not found');
    });

    await t.step(
      "restartPolicy Always: restarts with back-off; previous logs; container required",
      async () => {
        host.add(makePod("crash", {
          containers: [
            { name: "a", image: KODAMA_TEST_IMAGE, command: ["sh", "-c", "echo run; exit 1"] },
            { name: "b", image: KODAMA_TEST_IMAGE, command: ["sleep", "1d"] },
          ],
        }));
        runtime.startPod(host.getPod("default", "crash")!);
        const pod = await host.waitFor(
          "default",
          "crash",
          (p) =>
            p.status?.containerStatuses?.[0]?.restartCount >= 1 &&
            !!p.status?.containerStatuses?.[0]?.state?.running,
        );
        assertEquals(pod.status!.phase, "Running");
        assertEquals(pod.status!.containerStatuses[0].lastState.terminated.exitCode, 1);
        assert(host.events.some((e) => e.pod === "crash" && e.reason === "BackOff"));
        const noC = await fetch(`${rig.url}/api/v1/namespaces/default/pods/crash/log`);
        assertEquals(noC.status, 400);
        assertEquals(
          (await noC.json()).message,
          "a container name must be specified for pod crash, choose one of: [a b]",
        );
        const prev = await fetch(
          `${rig.url}/api/v1/namespaces/default/pods/crash/log?container=a&previous=true`,
        );
        assertEquals(await prev.text(), "run\n");
      },
    );

    await t.step("logs: tailLines, limitBytes, and follow sees later lines and ends at exit", async () => {
      host.add(makePod("talk", {
        restartPolicy: "Never",
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          // fixed: the late line must come after the follow began (the subject, not a wait)
          command: ["sh", "-c", "echo 1; echo 2; echo 3; sleep 0.6; echo 4"],
        }],
      }));
      runtime.startPod(host.getPod("default", "talk")!);
      await host.waitFor("default", "talk", phaseIs("Running"));
      const base = `${rig.url}/api/v1/namespaces/default/pods/talk/log`;
      // the first three lines are written (the fourth comes 0.6 s later)
      await waitUntil(async () => (await (await fetch(base)).text()) === "1\n2\n3\n", 10_000, "lines 1-3");
      assertEquals(await (await fetch(`${base}?tailLines=2`)).text(), "2\n3\n");
      assertEquals(await (await fetch(`${base}?limitBytes=3`)).text(), "1\n2");
      const t0 = Date.now();
      const followed = await (await fetch(`${base}?follow=true`)).text();
      assertEquals(followed, "1\n2\n3\n4\n");
      assert(Date.now() - t0 >= 200, "follow waited for the late line");
    });

    await t.step("port-forward (v4 channel framing): port prefix frames, then raw TCP", async () => {
      const pod = host.getPod("default", "web")!;
      const ip = pod.status!.podIP;
      const server = net.createServer((s) => s.end("hello from pod\n"));
      await new Promise<void>((r) => server.listen(18931, ip, r));
      try {
        const ws = new WebSocket(
          `${rig.url.replace("http", "ws")}/api/v1/namespaces/default/pods/web/portforward?ports=18931`,
          ["v4.channel.k8s.io"],
        );
        const frames: Buffer[] = [];
        await new Promise((resolve, reject) => {
          ws.on("message", (m: Buffer) => frames.push(m));
          ws.on("close", resolve);
          ws.on("error", reject);
        });
        assertEquals(frames[0], Buffer.from([0, 18931 & 255, 18931 >> 8]));
        assertEquals(frames[1], Buffer.from([1, 18931 & 255, 18931 >> 8]));
        assertEquals(Buffer.concat(frames.slice(2).map((f) => f.subarray(1))).toString(), "hello from pod\n");
      } finally {
        server.close();
      }
    });

    await t.step("dropAllStreams cuts an open exec; streams are refused while dropped", async () => {
      const pending = wsExec(rig, "web", { command: ["sleep", "30"], stdout: "true" });
      // the exec runs once its command does (its WebSocket is tracked before that): an earlier step's
      // stream may still be open, so the number of streams would not tell
      const cmdline = (pid: number) => {
        try {
          return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        } catch {
          return "";
        }
      };
      await waitUntil(
        () => runtime.pids().some((p) => /(^|\/)sleep 30$/.test(cmdline(p).replaceAll("\0", " ").trim())),
        10_000,
        "sleep 30",
      );
      runtime.dropAllStreams();
      const r = await pending;
      assertEquals(r.status, "");
      host.dropped = true;
      let failed = false;
      await wsExec(rig, "web", { command: ["true"], stdout: "true" }).catch(() => (failed = true));
      assert(failed, "refused while dropped");
      host.dropped = false;
    });

    await t.step("stopPod kills the whole process tree; stopAll leaves nothing", async () => {
      host.add(makePod("tree", {
        containers: [{
          name: "c",
          image: KODAMA_TEST_IMAGE,
          command: ["sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & echo forked; wait"],
        }],
      }));
      runtime.startPod(host.getPod("default", "tree")!);
      await host.waitFor("default", "tree", isReady);
      // Ready comes when the shell starts, not when it has forked: wait for both sleeps (a loaded
      // CI machine once took the snapshot below between the two)
      const log = `${rig.url}/api/v1/namespaces/default/pods/tree/log`;
      for (let i = 0; !(await (await fetch(log)).text()).includes("forked"); i++) {
        assert(i < 200, "the pod's shell never forked its children");
        await new Promise((r) => setTimeout(r, 50));
      }
      // a background process started by exec outlives the exec session (as in a container) ...
      await wsExec(rig, "tree", { command: ["sh", "-c", "sleep 999 >/dev/null 2>&1 &"], stdout: "true" });
      // found by its argv: in its own PID namespace the pod's `$!` is not this machine's pid
      const bgPid = runtime.pids().find((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "latin1") === "sleep\0" + "999\0";
        } catch {
          return false;
        }
      });
      assert(bgPid, "background exec child still running");
      // other pods of this rig may restart meanwhile: compare the pids that went away, not counts
      const before = runtime.pids();
      assert(before.length >= 4, `pids: ${before.length}`);
      const t0 = Date.now();
      await runtime.stopPod("default", "tree", 1); // the shell ignores TERM: SIGKILL after 1 s
      assert(Date.now() - t0 >= 900, "waited for the grace period");
      assert(host.events.some((e) => e.pod === "tree" && e.reason === "Killing"));
      const after = new Set(runtime.pids());
      const gone = before.filter((p) => !after.has(p));
      assert(gone.length >= 4, `gone: ${gone.length} of ${before.length}`);
      assert(!runtime.pids().includes(bgPid), "... but not the pod");
      await runtime.stopAll();
      assertEquals(runtime.pids(), []);
    });
  } finally {
    await rig.stop();
  }
});
