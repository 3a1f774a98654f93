/** `kodama logs`: multi-pod prefixed logs, following pods created later, Ctrl-C exit 130. */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { deleteObjects, DEMO, KODAMA_TEST_IMAGE, kubectl, needsTestServer } from "../cluster/harness.ts";
import { CONFIG, hasStackTrace, MAIN, runKodama, spawnKodama } from "../cli/_run.ts";
import { join } from "node:path";
import { busyboxPod, tmux } from "./_helpers.ts";
import { HAVE_TMUX } from "./picker_tmux.ts";
import { HIGHLIGHT_OFF, HIGHLIGHT_ON } from "../../src/pods/log_filter.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { clusterTest } from "../cluster/fixture.ts";
import { shellQuote } from "../../src/base/text/escape.ts";

/** a colour/attribute escape (deno itself may write cursor/erase sequences to the terminal) */
// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/;
const shq = (s: string) => shellQuote(s, { always: true });
/** what the filter pod prints: known lines, multi-byte ones, and a last line without a newline */
const LF_LINES = ["alpha one", "beta two", "gamma three ü", "alpha beta", "ünï 😀 alpha", "tail alpha"];
// the last line has no newline: containerd (and the test server) hold it back until the container exits
const LF_SCRIPT = `${LF_LINES.slice(0, -1).map((l) => `echo ${shq(l)}`).join("; ")}; printf ${
  shq(LF_LINES.at(-1)!)
}`;

clusterTest("kodama logs", { seed: "demo" }, async (t, c) => {
  const lf = (...args: string[]) =>
    runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "dev", "--pod", "lf", ...args]);
  const lines = (out: string) => out.split("\n").filter(Boolean);
  try {
    await t.step("both api pods, prefixed; nothing matched is exit 3", async () => {
      // the api pods log a line when they start serving
      let r = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-l", "app=api"]);
      for (let i = 0; i < 50 && DEMO.apiPods.some((p) => !r.stdout.includes(`${p} | `)); i++) {
        await new Promise((res) => setTimeout(res, 200));
        r = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-l", "app=api"]);
      }
      assertEquals(r.code, 0, r.stderr);
      for (const p of DEMO.apiPods) assertStringIncludes(r.stdout, `${p} | `);
      const none = await runKodama(["--kubeconfig", c.kubeconfig, "logs", "-n", "prod", "-m", "nomatch"]);
      assertEquals(none.code, 3);
    });

    await t.step(
      "-f shows both api pods, then a third created during the test; Ctrl-C exits 130",
      async () => {
        const child = spawnKodama([
          "--kubeconfig",
          c.kubeconfig,
          "logs",
          "-n",
          "prod",
          "-l",
          "app=api",
          "-f",
        ]);
        const errP = new Response(child.stderr).text();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        let ended = false;
        // one reader loop; `until` only polls what it collected
        const pump = (async () => {
          while (true) {
            const { value, done } = await reader.read();
            if (done) break;
            out += value;
          }
          ended = true;
        })().catch(() => {});
        const until = async (pred: () => boolean, what: string) => {
          const end = Date.now() + 20_000;
          while (!pred()) {
            if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output:\n${out}`);
            if (ended) throw new Error(`logs exited early; output:\n${out}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        };
        try {
          await until(() => DEMO.apiPods.every((p) => out.includes(`${p} | `)), "lines from both api pods");
          const mk = await kubectl(c, [
            "run",
            "api-third",
            "-n",
            "prod",
            `--image=${KODAMA_TEST_IMAGE}`,
            "--labels=app=api",
            "--restart=Never",
            "--",
            "sh",
            "-c",
            "while true; do echo tick from third; sleep 0.3; done",
          ]);
          assertEquals(mk.code, 0, mk.stderr);
          await until(() => /^api-third +\| tick from third$/m.test(out), "lines from the third api pod");
          child.kill("SIGINT");
          const st = await child.status;
          assertEquals(st.code, 130, await errP);
          // every line whole and prefixed
          for (const l of out.split("\n").filter(Boolean)) {
            assert(/^api-[\w-]+ +\| /.test(l), `bad line ${JSON.stringify(l)}`);
          }
        } finally {
          try {
            child.kill("SIGKILL");
          } catch {
            /* exited */
          }
          await pump;
        }
      },
    );

    await t.step(
      "a stream that ends while the container runs is re-opened, without repeating lines",
      async () => {
        if (!needsTestServer(c)) return; // drops the streams (fault injection)
        const { Kube } = await import("../../src/kube/client.ts");
        const { streamLogs } = await import("../../src/pods/logs.ts");
        const { memorySink } = await import("../../src/base/sink.ts");
        const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "prod" });
        const pod = await kube.getObject<V1Pod>("pods", "prod", "api-third");
        const out = memorySink();
        const ctrl = new AbortController();
        const run = streamLogs(kube, [pod], {
          follow: true,
          timestamps: true,
          out,
          signal: ctrl.signal,
          backoff: { initial: 100, max: 400 },
        });
        const ticks = () => out.text().split("\n").filter((l) => l.includes("tick from third"));
        const wait = async (n: number) => {
          for (let i = 0; i < 100 && ticks().length < n; i++) await new Promise((r) => setTimeout(r, 100));
        };
        await wait(3);
        const before = ticks().length;
        c.faults.dropStreams(true);
        // fixed: the outage lasts 150 ms (its length is the fault; a follow must outlive it)
        await new Promise((r) => setTimeout(r, 150));
        c.faults.dropStreams(false);
        await wait(before + 4);
        ctrl.abort();
        await run;
        const lines = ticks();
        assert(lines.length >= before + 4, `no lines after the drop: ${lines.length}`);
        const stamps = lines.map((l) => l.split(" | ")[1].split(" ")[0]);
        for (let i = 1; i < stamps.length; i++) {
          assert(stamps[i] > stamps[i - 1], `repeated or out of order: ${stamps[i]}`);
        }
      },
    );
    await t.step("line filters: -i any of, -e wins, multi-byte, the unterminated last line", async () => {
      const { Kube } = await import("../../src/kube/client.ts");
      const kube = await Kube.connect({ kubeconfig: c.kubeconfig, namespace: "dev" });
      const lfPod = busyboxPod("lf", { command: ["sh", "-c", LF_SCRIPT] });
      lfPod.spec!.restartPolicy = "Never"; // it ends, and its logs (the last line too) stay
      await kube.createObject("pods", "dev", lfPod);
      let all = await lf("-o", "raw");
      for (let i = 0; i < 100 && !all.stdout.includes("tail alpha"); i++) {
        await new Promise((res) => setTimeout(res, 100));
        all = await lf("-o", "raw");
      }
      assertEquals(lines(all.stdout), LF_LINES, all.stderr);
      // default output keeps the prefix
      const pre = await lf("-i", "^alpha");
      assertEquals(lines(pre.stdout), ["lf | alpha one", "lf | alpha beta"]);
      assertEquals(lines((await lf("-o", "raw", "-i", "alpha")).stdout), [
        "alpha one",
        "alpha beta",
        "ünï 😀 alpha",
        "tail alpha",
      ]);
      assertEquals(
        lines((await lf("--no-prefix", "-i", "alpha", "-e", "beta", "--exclude", "😀")).stdout),
        [
          "alpha one",
          "tail alpha",
        ],
      );
      assertEquals(lines((await lf("-o", "raw", "-i", "gamma", "--include", "^ünï", "-e", "one")).stdout), [
        "gamma three ü",
        "ünï 😀 alpha",
      ]);
      // matched against the whole line: anchors, and `.` is one (multi-byte) character
      assertEquals(lines((await lf("-o", "raw", "-i", "e ü$", "-i", "^ünï . alpha$")).stdout), [
        "gamma three ü",
        "ünï 😀 alpha",
      ]);
      // the timestamp is not part of what is matched
      assertEquals(lines((await lf("-o", "raw", "--timestamps", "-i", "^beta")).stdout).length, 1);
      // piped (and colour not switched off): no highlight, no escape sequences
      const piped = await runKodama(
        ["--kubeconfig", c.kubeconfig, "logs", "-n", "dev", "--pod", "lf", "-i", "alpha"],
        { env: { NO_COLOR: "" } },
      );
      assertEquals(piped.code, 0, piped.stderr);
      assert(!piped.stdout.includes("\x1b"), JSON.stringify(piped.stdout));
      assertEquals(lines(piped.stdout).length, 4);
    });

    await t.step("-o json: one object per line; --timestamps adds the API's timestamp", async () => {
      const r = await lf("-o", "json", "-e", "beta");
      assertEquals(r.code, 0, r.stderr);
      const objs = lines(r.stdout).map((l) => JSON.parse(l));
      assertEquals(
        objs,
        LF_LINES.filter((l) => !l.includes("beta")).map((message) => ({
          namespace: "dev",
          pod: "lf",
          container: "main",
          message,
        })),
      );
      const ts = await lf("-o", "json", "--timestamps", "-i", "gamma|tail");
      assertEquals(ts.code, 0, ts.stderr);
      const tsObjs = lines(ts.stdout).map((l) => JSON.parse(l));
      assertEquals(tsObjs.map((o) => o.message), ["gamma three ü", "tail alpha"]);
      for (const o of tsObjs) {
        assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(o.timestamp), o.timestamp);
        assertEquals(Object.keys(o).sort(), ["container", "message", "namespace", "pod", "timestamp"]);
      }
      // several pods: each line names its own pod
      const api = await runKodama([
        "--kubeconfig",
        c.kubeconfig,
        "logs",
        "-n",
        "prod",
        "-l",
        "app=api",
        "-o",
        "json",
      ]);
      assertEquals(api.code, 0, api.stderr);
      const pods = new Set(lines(api.stdout).map((l) => JSON.parse(l).pod));
      for (const p of DEMO.apiPods) assert(pods.has(p), `no json line of ${p}: ${api.stdout}`);
    });

    await t.step("bad regex and contradicting flags are exit 2, one line, no stack trace", async () => {
      for (
        const [args, want] of [
          [
            ["-i", "ok", "-i", "x("],
            '--include "x(" is not a valid regular expression: Unterminated group',
          ],
          [["-e", "[a-"], '--exclude "[a-" is not a valid regular expression'],
          [["-o", "json", "--no-prefix"], "--no-prefix cannot be combined with --output json"],
          [["-o", "yaml"], "Allowed choices are default, raw, json"],
        ] as const
      ) {
        const r = await lf(...args);
        assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assertStringIncludes(r.stderr.split("\n")[0], want);
        assertEquals(r.stdout, "");
        assert(!hasStackTrace(r.stderr), r.stderr);
      }
    });

    await t.step(
      "workflow logs step: include/exclude filter the lines; a bad one fails validate",
      async () => {
        const tmp = await Deno.makeTempDir({ prefix: "kodama-logs-wf-" });
        try {
          const wfDir = join(tmp, ".kodama", "workflows");
          await Deno.mkdir(join(tmp, ".git"), { recursive: true });
          await Deno.mkdir(wfDir, { recursive: true });
          const env = { KUBECONFIG: c.kubeconfig, KODAMA_HOME: join(tmp, "home") };
          await Deno.writeTextFile(
            join(wfDir, "alphas.yaml"),
            // lf has ended (its last line is out only then): a target takes every phase with includeNotReady
            `targets:\n  lf: { namespace: dev, pod: lf, includeNotReady: true }\nsteps:\n  - logs: { target: lf, tail: 100, include: [alpha, gamma], exclude: ["😀"] }\n`,
          );
          const r = await runKodama(["run", "alphas"], { env, cwd: tmp });
          assertEquals(r.code, 0, r.stderr);
          assertEquals(lines(r.stdout), ["alpha one", "gamma three ü", "alpha beta", "tail alpha"]);
          await Deno.writeTextFile(
            join(wfDir, "bad.yaml"),
            `targets:\n  lf: { namespace: dev, pod: lf }\nsteps:\n  - logs:\n      target: lf\n      tail: 1\n      include: [ok, "a(b"]\n`,
          );
          const v = await runKodama(["workflow", "validate", join(wfDir, "bad.yaml")], { env, cwd: tmp });
          assertEquals(v.code, 2, v.stderr + v.stdout);
          assertStringIncludes(
            v.stderr + v.stdout,
            `bad.yaml:7:21: steps[0].logs: include[1] "a(b" is not a valid regular expression: Unterminated group`,
          );
        } finally {
          await Deno.remove(tmp, { recursive: true });
        }
      },
    );

    await t.step({
      name: "on a terminal the include matches are highlighted; not with --no-color or NO_COLOR",
      ignore: !HAVE_TMUX,
      fn: async () => {
        const sock = `kodama-logs-${crypto.randomUUID().slice(0, 8)}`;
        const dir = await Deno.makeTempDir({ prefix: "kodama-logs-tty-" });
        const cmd = (extra: string, flags = "") =>
          `env -u NO_COLOR ${extra} ${shq(Deno.execPath())} run -A --config ${shq(CONFIG)} ${
            shq(MAIN)
          } --kubeconfig ${shq(c.kubeconfig)} logs -n dev --pod lf -i 'alpha|gamma' ${flags}`;
        // each run's stdout is the pane (a TTY); tmux's pipe-pane records the raw bytes it writes
        const runInPane = async (name: string, extra: string, flags = "") => {
          const out = join(dir, `${name}.out`);
          await tmux(
            sock,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "30",
            "sh",
            "-c",
            // start once the pipe is in place, so no byte goes unrecorded; then a mark on the terminal
            // after the command's output: once the pipe has the mark, it has everything before it
            `while [ ! -e ${shq(out)} ]; do sleep 0.05; done; ${
              cmd(extra, flags)
            }; printf '%s-%s\\n' run ended; sleep 600`,
          );
          await tmux(sock, "pipe-pane", "-t", name, `cat > ${shq(out)}`);
          let text = "";
          for (
            let i = 0;
            i < 300 && !(text = await Deno.readTextFile(out).catch(() => "")).includes("run-ended");
            i++
          ) {
            await new Promise((r) => setTimeout(r, 100));
          }
          return text;
        };
        try {
          const tty = await runInPane("color", "");
          assertStringIncludes(tty, `${HIGHLIGHT_ON}alpha${HIGHLIGHT_OFF} one`);
          assertStringIncludes(tty, `${HIGHLIGHT_ON}gamma${HIGHLIGHT_OFF} three ü`);
          assert(!tty.includes("beta two"), tty);
          const noColor = await runInPane("nocolor", "NO_COLOR=1");
          assertStringIncludes(noColor, "lf | alpha one");
          assert(!SGR.test(noColor), JSON.stringify(noColor));
          const flag = await runInPane("flag", "", "--no-color");
          assertStringIncludes(flag, "lf | alpha one");
          assert(!SGR.test(flag), JSON.stringify(flag));
        } finally {
          await tmux(sock, "kill-server").catch(() => "");
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      },
    });
  } finally {
    await deleteObjects(c, "prod", "pod/api-third");
    await deleteObjects(c, "dev", "pod/lf");
  }
});
