/**
 * `kodama mcp` against the test server (or the real cluster), through the SDK's own client: the tiers and
 * their annotations, the pod tools (a 100-pod fan-out with progress), cancellation ending the remote
 * command, bad arguments, the output cap, context pinning, and no credential in any result.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { clusterTest } from "../cluster/fixture.ts";
import { KODAMA_TEST_IMAGE, loadPodNames, onRealCluster } from "../cluster/harness.ts";
import { startMcp, transcript } from "./_mcp.ts";

/** The tools each tier offers: public API (the issue names them). */
export const READ = [
  "pods_list",
  "pods_logs",
  "sessions_list",
  "session_status",
  "agent_logs",
  "agent_wait",
  "sync_status",
  "workflows_list",
  "compare",
];
export const WRITE = [
  "pods_exec",
  "session_start",
  "session_stop",
  "session_resume",
  "session_fetch",
  "session_land",
  "session_pr",
  "agent_run",
  "agent_say",
  "agent_interrupt",
  "workflow_run",
  "adopt",
];
export const DESTRUCTIVE = ["session_delete", "sync_resolve"];

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

clusterTest("mcp: tiers, pod tools, fan-out, cancellation, bad arguments, caps, pinning, secrets", {
  seed: "demo",
  pods: 100,
  timeoutMs: 10 * 60_000,
}, async (t, cluster) => {
  await t.step(
    "tiers: --read-only, the default and --allow-destructive offer their tools, annotated truly",
    async () => {
      const sets: [string[], string[]][] = [
        [["--read-only"], READ],
        [[], [...READ, ...WRITE]],
        [["--allow-destructive"], [...READ, ...WRITE, ...DESTRUCTIVE]],
      ];
      for (const [flags, expected] of sets) {
        const m = await startMcp(cluster.kubeconfig, flags);
        try {
          const { tools } = await m.listTools();
          assertEquals(tools.map((x) => x.name).sort(), [...expected].sort(), flags.join(" "));
          for (const x of tools) {
            const a = x.annotations!;
            assert(x.outputSchema, `${x.name} has an outputSchema`);
            assertEquals(a.readOnlyHint, READ.includes(x.name), `${x.name} readOnlyHint`);
            if (a.readOnlyHint) {
              assertEquals(a.destructiveHint, false, `${x.name}: read-only is not destructive`);
            }
            if (DESTRUCTIVE.includes(x.name)) {
              assertEquals(a.destructiveHint, true, x.name);
            }
            assertEquals(typeof a.idempotentHint, "boolean");
            assertEquals(typeof a.openWorldHint, "boolean");
          }
          // adopt may overwrite the local branch (force) only on a server that allows destruction
          const adopt = tools.find((x) => x.name === "adopt");
          if (adopt) {
            const force = "force" in ((adopt.inputSchema as { properties: object }).properties);
            assertEquals(force, flags.includes("--allow-destructive"));
            assertEquals(adopt.annotations!.destructiveHint, force);
          }
        } finally {
          await m.close();
        }
      }
    },
  );

  const m = await startMcp(cluster.kubeconfig);
  try {
    await t.step("pods_list: a namespace, a selector, a TYPE/NAME target, a missing namespace", async () => {
      const all = await m.call("pods_list", { namespace: "load" });
      assert(!all.isError, all.text);
      // a real cluster's load namespace may hold others' pods too: the load pods are all there, in order
      assert(all.data.count >= cluster.loadPods);
      assertEquals(
        all.data.pods.map((p: { name: string }) => p.name).filter((n: string) => /^load-\d{3}$/.test(n)),
        loadPodNames(cluster.loadPods),
      );
      assertStringIncludes(all.text, "NAME");
      const sel = await m.call("pods_list", { namespace: "load", selector: "app=load", match: ["load-00"] });
      assertEquals(sel.data.count, 10);
      const none = await m.call("pods_list", { namespace: "load", selector: "app notin (load)" });
      assertEquals(none.data.count, 0);
      const one = await m.call("pods_list", { namespace: "load", target: "load-007" });
      assertEquals(one.data.pods.map((p: { name: string }) => p.name), ["load-007"]);
      const missing = await m.call("pods_list", { namespace: "no-such-ns" });
      assert(missing.isError);
      assertMatch(missing.text, /namespaces "no-such-ns" not found \(exit 3\)/);
    });

    await t.step(
      "pods_list: a pod created after the first call is seen (the cache follows the watch)",
      async () => {
        const { Kube } = await import("../../src/kube/client.ts");
        const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
        const name = `mcp-late-${crypto.randomUUID().slice(0, 6)}`;
        await kube.createObject("pods", "load", {
          metadata: { name, labels: { app: "mcp-late" } },
          spec: {
            containers: [{ name: "main", image: KODAMA_TEST_IMAGE, command: ["sleep", "1d"] }],
            terminationGracePeriodSeconds: 0,
          },
        });
        try {
          await until("the new pod in pods_list", async () => {
            const r = await m.call("pods_list", { namespace: "load", selector: "app=mcp-late" });
            return r.data.count === 1 ? true : undefined;
          });
        } finally {
          await kube.deleteObject("pods", "load", name, { gracePeriodSeconds: 0 });
        }
        await until("the deleted pod gone from pods_list", async () => {
          const r = await m.call("pods_list", { namespace: "load", selector: "app=mcp-late" });
          return r.data.count === 0 ? true : undefined;
        });
        kube.close();
      },
    );

    await t.step(
      "pods_exec: one pod, its exit code, stdout and stderr apart; several matches need all/first",
      async () => {
        const r = await m.call("pods_exec", {
          namespace: "load",
          pod: "load-003",
          command: ["sh", "-c", "echo out; echo err >&2; exit 3"],
        });
        assert(!r.isError, r.text);
        assertEquals(r.data.pods.length, 1);
        assertEquals(r.data.pods[0].exitCode, 3);
        assertEquals(r.data.pods[0].stdout, "out\n");
        assertEquals(r.data.pods[0].stderr, "err\n");
        assertEquals(r.data.exitCode, 1);
        const amb = await m.call("pods_exec", { namespace: "load", selector: "app=load", command: ["true"] });
        assert(amb.isError);
        assertMatch(amb.text, new RegExp(`^error: ${cluster.loadPods} pods match: load-000, `));
        const first = await m.call("pods_exec", {
          namespace: "load",
          selector: "app=load",
          first: true,
          command: ["hostname"],
        });
        assertEquals(first.data.pods.map((p: { pod: string }) => p.pod), ["load-000"]);
        const stdin = await m.call("pods_exec", {
          namespace: "load",
          pod: "load-001",
          stdin: "a\nb\n",
          command: ["wc", "-l"],
        });
        assertEquals(stdin.data.pods[0].stdout.trim(), "2");
        const nothing = await m.call("pods_exec", { namespace: "load", match: ["zzz"], command: ["true"] });
        assert(nothing.isError);
        assertMatch(nothing.text, /no pods matched .*\(exit 3\)/);
      },
    );

    await t.step("pods_exec: a fan-out over every load pod, with progress notifications", async () => {
      const progress: number[] = [];
      m.progressSent.length = 0;
      const r = await m.call(
        "pods_exec",
        { namespace: "load", selector: "app=load", all: true, command: ["sh", "-c", "echo $HOSTNAME"] },
        { onprogress: (p) => progress.push(p.progress) },
      );
      assert(!r.isError, r.text);
      const bad = r.data.pods.filter((p: { status: string }) => p.status !== "ok");
      assertEquals(r.data.ok, cluster.loadPods, JSON.stringify(bad.slice(0, 3)));
      assertEquals(r.data.pods.length, cluster.loadPods);
      assertEquals(r.data.exitCode, 0);
      for (const p of r.data.pods) assertEquals(p.stdout.trim(), p.pod);
      assertMatch(r.text, new RegExp(`^${cluster.loadPods} pods: ${cluster.loadPods} ok`));
      // one a pod, in order, every one before the result (as read off the pipe); the SDK's client hands the
      // caller those it dispatched before the result retired the call's handler (typescript-sdk#2580)
      const sent = m.progressSent.filter((p) => p.total === cluster.loadPods).map((p) => p.progress);
      assertEquals(sent, Array.from({ length: cluster.loadPods }, (_, i) => i + 1));
      assert(progress.length >= 1, "progress notifications arrived");
      assert(progress.every((p, i) => p === sent[i]), `${progress}`);
    });

    await t.step("pods_exec: output beyond 64 KiB per pod is left out and marked", async () => {
      const r = await m.call("pods_exec", {
        namespace: "load",
        pod: "load-002",
        command: [
          "sh",
          "-c",
          "i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789012345678; i=$((i+1)); done",
        ],
      });
      const p = r.data.pods[0];
      assertEquals(p.truncated, true);
      assertEquals(p.exitCode, 0);
      assertMatch(p.stdout, /\[… 3\d KiB more output left out: the per-pod cap is 64 KiB\]\n$/);
      assert(p.stdout.length < 64 * 1024 + 200);
    });

    await t.step("cancellation: notifications/cancelled ends the command in its pod", async () => {
      const mark = `mcp-cancel-${crypto.randomUUID().slice(0, 8)}`;
      const ctl = new AbortController();
      const call = m.call("pods_exec", {
        namespace: "load",
        pod: "load-004",
        command: ["sh", "-c", `echo $$ > /tmp/${mark}; exec sleep 300`],
      }, { signal: ctl.signal }).catch((e) => e as Error);
      const pid = await until("the command to start", async () => {
        const r = await m.call("pods_exec", {
          namespace: "load",
          pod: "load-004",
          command: ["sh", "-c", `cat /tmp/${mark} 2>/dev/null`],
        });
        return r.data.pods[0].stdout.trim() || undefined;
      });
      ctl.abort();
      assert((await call) instanceof Error, "the client's call was cancelled");
      await until("the remote sleep to end", async () => {
        const r = await m.call("pods_exec", {
          namespace: "load",
          pod: "load-004",
          command: ["sh", "-c", `kill -0 ${pid} 2>/dev/null && echo alive || echo gone`],
        });
        return r.data.pods[0].stdout.trim() === "gone" ? true : undefined;
      });
    });

    await t.step("bad arguments: a one-line tool error each, and the server keeps serving", async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ["pods_exec", { namespace: "load", command: "hostname" }, /command/],
        ["pods_exec", { namespace: "load", command: [] }, /command/],
        [
          "pods_exec",
          { namespace: "load", pod: "load-000", command: ["true"], yes: true },
          /Unrecognized key.*yes/,
        ],
        [
          "pods_exec",
          { namespace: "load", pod: "load-000", command: ["true"], timeout: "soon" },
          /invalid timeout "soon"/,
        ],
        ["pods_list", { namespace: "load", regex: "(" }, /invalid --regex/],
        ["pods_list", { namespace: "Not_A_Namespace" }, /invalid namespace/],
        ["pods_list", { target: "nosuchkind/x" }, /target/],
        ["pods_logs", { namespace: "load", pod: "load-000", since: "yesterday" }, /invalid since/],
      ];
      for (const [name, args, re] of cases) {
        const r = await m.call(name, args);
        assert(r.isError, `${name} ${JSON.stringify(args)} is an error`);
        assertMatch(r.text, re);
        assert(!/\n\s+at /.test(r.text), `no stack trace: ${r.text}`);
        assert(r.text.split("\n").length <= 2, `one line (and a hint): ${r.text}`);
      }
      const ok = await m.call("pods_list", { namespace: "load", pod: "load-000" });
      assertEquals(ok.data.count, 1);
    });

    await t.step("pods_logs: lines per pod and container, tail and include", async () => {
      const r = await m.call("pods_logs", { namespace: "prod", match: ["api"], tail: 5 });
      assert(!r.isError, r.text);
      assert(r.data.streams.length >= 1);
      for (const s of r.data.streams) {
        assert(s.lines <= 5);
        assertEquals(s.truncated, false);
      }
      const f = await m.call("pods_logs", { namespace: "prod", match: ["api"], include: ["^serving"] });
      for (const s of f.data.streams) for (const l of s.text.trim().split("\n")) assertMatch(l, /^serving/);
    });

    await t.step("secrets: a Secret's value the pod reads is *** in exec and logs results", async () => {
      const { Kube } = await import("../../src/kube/client.ts");
      const kube = await Kube.connect({ kubeconfig: cluster.kubeconfig });
      const id = crypto.randomUUID().slice(0, 6);
      const value = `s3cr3t-value-${crypto.randomUUID()}`;
      await kube.createObject("secrets", "load", {
        metadata: { name: `mcp-secret-${id}` },
        stringData: { TOKEN: value },
      });
      await kube.createObject("pods", "load", {
        metadata: { name: `mcp-secret-${id}`, labels: { app: "mcp-secret" } },
        spec: {
          containers: [{
            name: "main",
            image: KODAMA_TEST_IMAGE,
            command: ["sh", "-c", 'echo "token is $TOKEN"; exec sleep 1d'],
            env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: `mcp-secret-${id}`, key: "TOKEN" } } }],
          }],
          terminationGracePeriodSeconds: 0,
        },
      });
      try {
        await until("the secret pod running", async () => {
          const r = await m.call("pods_list", { namespace: "load", pod: `mcp-secret-${id}`, running: true });
          return r.data.count === 1 ? true : undefined;
        }, 120_000);
        const e = await m.call("pods_exec", { namespace: "load", pod: `mcp-secret-${id}`, command: ["env"] });
        assertStringIncludes(e.data.pods[0].stdout, "TOKEN=***");
        assert(!e.text.includes(value) && !JSON.stringify(e.data).includes(value));
        const l = await until("the log line", async () => {
          const r = await m.call("pods_logs", { namespace: "load", pod: `mcp-secret-${id}` });
          return r.text.includes("token is") ? r : undefined;
        });
        assertStringIncludes(l.text, "token is ***");
        assert(!transcript.some((x) => x.includes(value)), "the value is in no result");
      } finally {
        await kube.deleteObject("pods", "load", `mcp-secret-${id}`, { gracePeriodSeconds: 0 });
        await kube.deleteObject("secrets", "load", `mcp-secret-${id}`);
        kube.close();
      }
    });
  } finally {
    await m.close();
  }

  await t.step(
    "pinning: --context admin refuses dev; several contexts at once within the pinned ones",
    async () => {
      const p = await startMcp(cluster.kubeconfig, ["--context", "admin"]);
      try {
        const r = await p.call("pods_list", { context: "dev", namespace: "load" });
        assert(r.isError);
        assertMatch(r.text, /context "dev" is not allowed: this server is pinned to admin \(exit 4\)/);
        const ok = await p.call("pods_list", { namespace: "load", pod: "load-000" });
        assertEquals(ok.data.count, 1);
      } finally {
        await p.close();
      }
      const both = await startMcp(cluster.kubeconfig, ["--context", "admin,dev"]);
      try {
        // dev may only read its own namespace: its context fails, and the result says so beside admin's pods
        const r = await both.call("pods_list", { context: "admin,dev", namespace: "load", pod: "load-000" });
        assert(!r.isError, r.text);
        assertEquals(r.data.pods.map((x: { context: string }) => x.context), ["admin"]);
        assertEquals(r.data.contextErrors.map((x: { context: string }) => x.context), ["dev"]);
        assertMatch(r.text, /error: context dev: /);
      } finally {
        await both.close();
      }
    },
  );

  await t.step(
    "--call-timeout: a call past it is a timeout error, and its command is ended in the pod",
    async () => {
      const p = await startMcp(cluster.kubeconfig, ["--call-timeout", "5s"]);
      const mark = `mcp-deadline-${crypto.randomUUID().slice(0, 8)}`;
      try {
        const r = await p.call("pods_exec", {
          namespace: "load",
          pod: "load-005",
          command: ["sh", "-c", `echo $$ > /tmp/${mark}; exec sleep 300`],
        });
        assert(r.isError);
        assertMatch(r.text, /^error: pods_exec timed out after 5s \(exit 5\)/);
        // under load the deadline may pass before the command started: then there is nothing to end
        const pid = (await p.call("pods_exec", {
          namespace: "load",
          pod: "load-005",
          command: ["sh", "-c", `cat /tmp/${mark} 2>/dev/null || true`],
        })).data.pods[0].stdout.trim();
        if (pid) {
          await until("the remote sleep to end", async () => {
            const k = await p.call("pods_exec", {
              namespace: "load",
              pod: "load-005",
              command: ["sh", "-c", `kill -0 ${pid} 2>/dev/null && echo alive || echo gone`],
            });
            return k.data.pods[0].stdout.trim() === "gone" ? true : undefined;
          });
        }
      } finally {
        await p.close();
      }
    },
  );

  await t.step("no kubeconfig credential in any result", async () => {
    const { Kube } = await import("../../src/kube/client.ts");
    const creds: string[] = [];
    for (const context of ["admin", "dev"]) {
      const k = await Kube.connect({ kubeconfig: cluster.kubeconfig, context });
      const u = k.kc.getCurrentUser();
      for (const v of [u?.token, u?.keyData, u?.password]) if (v) creds.push(v);
      k.close();
    }
    assert(transcript.length > 20);
    for (const c of creds) {
      assert(!transcript.some((x) => x.includes(c)), "a credential leaked into a result");
    }
  });
});

clusterTest("mcp: a user who may get a pod but not list them still runs pods_exec on it by name", {
  seed: "none",
  pods: 3,
  ignore: onRealCluster, // a user with exactly these rights: the test server's
  users: [{
    name: "getter",
    namespace: "load",
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods/exec"], verbs: ["create", "get"] },
    ],
  }],
}, async (_t, cluster) => {
  const m = await startMcp(cluster.kubeconfig, ["--context", "getter"]);
  try {
    const r = await m.call("pods_exec", { namespace: "load", pod: "load-001", command: ["hostname"] });
    assert(!r.isError, r.text);
    assertEquals(r.data.pods[0].stdout.trim(), "load-001");
    const l = await m.call("pods_list", { namespace: "load" });
    assert(l.isError);
    assertMatch(l.text, /\(exit 4\)/);
  } finally {
    await m.close();
  }
});
