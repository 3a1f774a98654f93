/**
 * `kodama start`: checks before any request, concurrent starts, --dry-run through the API server's own
 * validation, a volume that cannot bind (named, with its event), and Ctrl-C while waiting.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { kubectl, onRealCluster, waitUntil } from "../cluster/harness.ts";
import { hasStackTrace, runKodama } from "./_run.ts";
import { drain, podOf, purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

Deno.test({
  name: "start: a bad name, a bad quantity or a name too long fail before any request is sent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // a listener that counts connections: kodama must not open one
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    let connections = 0;
    (async () => {
      for await (const conn of listener) {
        connections++;
        conn.close();
      }
    })().catch(() => {});
    const dir = await Deno.makeTempDir({ prefix: "kodama-norequest-" });
    const kc = `${dir}/kubeconfig`;
    await Deno.writeTextFile(
      kc,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: dev, user: { token: abc } }]
contexts: [{ name: dev, context: { cluster: c, user: dev, namespace: dev } }]
current-context: dev
`,
    );
    try {
      const cases: [string[], RegExp][] = [
        [["start", "Bad_Name"], /invalid session name "Bad_Name"/],
        [["start", "x", "--cpu", "lots"], /invalid --cpu "lots": not a CPU quantity/],
        [["start", "x", "--memory", "2GB"], /invalid --memory "2GB"/],
        [["start", "x", "--storage", "0"], /invalid --storage "0": must be greater than 0/],
        [["start", "a".repeat(43)], /is too long \(43 characters, at most 42\)/],
        [["start", "x", "--timeout", "soon"], /invalid --timeout "soon"/],
        [["start", "x", "--env-file", "missing.env"], /env file missing\.env not found/],
      ];
      for (const [args, re] of cases) {
        const r = await runKodama(["--kubeconfig", kc, ...args], { cwd: dir, env: { KODAMA_HOME: dir } });
        assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assertMatch(r.stderr, re);
        assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
        assert(!hasStackTrace(r.stderr));
      }
      assertEquals(connections, 0, "a request was sent");
      // the listener does count a real attempt: a valid start reaches it (and fails there)
      const ok = await runKodama(["--kubeconfig", kc, "start", "x", "--timeout", "1s"], {
        cwd: dir,
        env: { KODAMA_HOME: dir },
      });
      assertEquals(ok.code, 1, ok.stderr);
      assert(connections > 0);
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

withSessionWorld(
  "start: two concurrent starts of one name make one session and one AlreadyExists (exit 2)",
  {},
  async (_t, w) => {
    try {
      const args = ["start", "same", "--image", SESSION_IMAGE];
      const [a, b] = await Promise.all([w.k(args), w.k(args)]);
      const codes = [a.code, b.code].sort();
      assertEquals(codes, [0, 2], `${a.stderr}\n---\n${b.stderr}`);
      const loser = a.code === 2 ? a : b;
      assertMatch(loser.stderr, /session "same" already exists in namespace dev/);
      assert(!hasStackTrace(loser.stderr));
      const pods = await w.kc(["get", "pods", "-l", "kodama.dev/session=same", "-o", "name"]);
      assertEquals(pods.stdout.trim(), `pod/${await podOf(w, "same")}`);
      const pvcs = await w.kc(["get", "pvc", "-l", "kodama.dev/session=same", "-o", "name"]);
      assertEquals(pvcs.stdout.trim().split("\n").length, 2);
      // the winner's session works
      const r = await w.sh("same", "echo ok");
      assertEquals(r.stdout, "ok\n");
      // a third start names the state and what to do
      const again = await w.k(args);
      assertEquals(again.code, 2);
      assertStringIncludes(again.stderr, "(Running)");
      assertStringIncludes(again.stderr, "kodama attach same");
    } finally {
      await purge(w, "same");
    }
  },
);

withSessionWorld(
  "start --dry-run -o yaml passes the API server's dry-run and holds no secret value",
  {},
  async (_t, w) => {
    const c = w.c;
    await Deno.writeTextFile(`${w.cwd}/.env`, "API_KEY=sk-very-secret-123\n");
    await Deno.mkdir(`${w.cwd}/.kodama/configs`, { recursive: true });
    await Deno.writeTextFile(`${w.cwd}/.kodama/configs/helix-config.toml`, 'theme = "onedark"\n');
    const r = await w.k([
      "start",
      "demo2",
      "--dry-run",
      "-o",
      "yaml",
      "--env-file",
      ".env",
      "--cpu",
      "1.5",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(!r.stdout.includes("sk-very-secret-123") && !r.stdout.includes(btoa("sk-very-secret-123")));
    assertStringIncludes(r.stdout, "API_KEY: <redacted>");
    for (const kind of ["Secret", "NetworkPolicy", "PersistentVolumeClaim", "ConfigMap", "Job"]) {
      assertStringIncludes(r.stdout, `kind: ${kind}`);
    }
    assertStringIncludes(r.stdout, "cpu: 1500m");
    const applied = await kubectl(c, ["apply", "--dry-run=server", "-f", "-"], {
      context: "dev",
      stdin: r.stdout,
    });
    assertEquals(applied.code, 0, applied.stderr);
    assertMatch(applied.stdout, /job.batch\/kodama-demo2 created \(server dry run\)/);
    // nothing was created, and no state written
    // (a real namespace has objects of its own — kube-root-ca.crt, a token Secret — and other tests' pods)
    assertEquals(
      (await w.kc(["get", "pod,pvc,secret,configmap", "-l", "kodama.dev/session=demo2", "-o", "name"]))
        .stdout
        .trim(),
      "",
    );
    const json = await w.k(["start", "demo2", "--dry-run", "-o", "json"]);
    assertEquals(JSON.parse(json.stdout).items.length, 6);
  },
);

withSessionWorld(
  "start --storage-class nope: fails at once (no timeout), names the class, leaves nothing",
  {},
  async (_t, w) => {
    try {
      // the ready timeout is long: a start that waited for it would fail this test by its own timeout
      const r = await w.k([
        "start",
        "x",
        "--image",
        SESSION_IMAGE,
        "--storage-class",
        "nope",
        "--timeout",
        "10m",
      ]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, 'StorageClass "nope" does not exist');
      assertStringIncludes(r.stderr, "can never bind");
      assert(!/timed out|reuses the kept PVCs/.test(r.stderr), r.stderr);
      assert(!hasStackTrace(r.stderr));
      // a start that never ran leaves nothing behind: no object, no volume, no local state
      assertMatch(r.stderr, /start failed, cleaned up: removed .*pvc kodama-workspace-x/);
      const get = await w.k(["session", "get", "x"]);
      assertEquals(get.code, 3, get.stdout + get.stderr);
      const left = await w.kc(["get", "pods,secrets,pvc", "-l", "kodama.dev/session=x", "-o", "name"]);
      assertEquals(left.stdout.trim(), "");
      const list = await w.k(["list"]);
      assert(!list.stderr.includes("prune"), list.stderr);
      assertEquals(await Deno.stat(`${w.home}/sessions/x.yaml`).then(() => true, () => false), false);
    } finally {
      await purge(w, "x");
    }
  },
);

withSessionWorld("start: Ctrl-C while waiting removes what it created except the PVCs, says so, exit 130", {
  ignore: onRealCluster, // a StorageClass whose volumes take 10 minutes: the test server's provisioner
}, async (_t, w) => {
  const slow = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: start-slow }
provisioner: kodama.dev/test-hostpath
parameters: { provisionDelay: "600s" }
`;
  assertEquals((await kubectl(w.c, ["apply", "-f", "-"], { stdin: slow })).code, 0);
  try {
    await Deno.writeTextFile(`${w.cwd}/.env`, "A=1\n");
    const child = w.spawn([
      "start",
      "cc",
      "--image",
      SESSION_IMAGE,
      "--storage-class",
      "start-slow",
      "--env-file",
      ".env",
    ]);
    const out = drain(child.stdout.getReader());
    const { text, rest } = await readUntil(child.stderr, /waiting for volume/);
    assertStringIncludes(text, "objects created");
    child.kill("SIGINT");
    const stderr = text + await drain(rest);
    const { code } = await child.status;
    await out;
    assertEquals(code, 130, stderr);
    assertMatch(
      stderr,
      /interrupted: removed .*secret kodama-env-cc, networkpolicy kodama-egress-cc; kept PVCs kodama-workspace-cc, kodama-claude-home-cc/,
    );
    assertStringIncludes(stderr, "reuses the kept PVCs");
    assert(!hasStackTrace(stderr));
    const left = await w.kc(["get", "pod,secret,configmap,pvc", "-l", "kodama.dev/session=cc", "-o", "name"]);
    assertEquals(left.stdout.trim().split("\n").sort(), [
      "persistentvolumeclaim/kodama-claude-home-cc",
      "persistentvolumeclaim/kodama-workspace-cc",
    ]);
    // the kept volumes are not a session (no local state nags either); delete --purge removes them
    const listed = await w.k(["list", "-o", "json"]);
    assertEquals((JSON.parse(listed.stdout).items as { name: string }[]).filter((s) => s.name === "cc"), []);
    assert(!listed.stderr.includes("prune"), listed.stderr);
    const d = await w.k(["delete", "cc", "--purge", "--force"]);
    assertEquals(d.code, 0, d.stderr);
    assertEquals((await w.kc(["get", "pvc", "-l", "kodama.dev/session=cc", "-o", "name"])).stdout.trim(), "");
  } finally {
    await purge(w, "cc");
  }
});

withSessionWorld(
  "delete --purge waits while a claim is still in use; a start meanwhile says the claim is being deleted",
  {},
  async (_t, w) => {
    try {
      const s = await w.k(["start", "tt", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      // another pod holds the workspace claim and takes its time to stop: the pvc-protection finalizer keeps
      // the claim Terminating until it is gone
      const holder = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "holder-tt" },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [{
            name: "main",
            image: SESSION_IMAGE,
            command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
            volumeMounts: [{ name: "ws", mountPath: "/ws" }],
          }],
          volumes: [{ name: "ws", persistentVolumeClaim: { claimName: "kodama-workspace-tt" } }],
        },
      };
      const file = `${w.cwd}/holder.json`;
      await Deno.writeTextFile(file, JSON.stringify(holder));
      assertEquals((await w.kc(["apply", "-f", file])).code, 0);
      assertEquals(
        (await w.kc(["wait", "--for=condition=Ready", "pod/holder-tt", "--timeout=120s"])).code,
        0,
      );

      const del = w.spawn(["delete", "tt", "--force", "--purge"]);
      const out = drain(del.stdout.getReader());
      const { text, rest } = await readUntil(del.stderr, /to be released/);
      assertStringIncludes(text, "kodama-workspace-tt");

      const again = await w.k(["start", "tt", "--image", SESSION_IMAGE]);
      assertEquals(again.code, 1, again.stderr);
      assertMatch(
        again.stderr,
        /PersistentVolumeClaims? (kodama-(workspace|claude-home)-tt(, )?)+ (is|are) being deleted/,
      );
      assert(!hasStackTrace(again.stderr));

      assertEquals((await w.kc(["delete", "pod", "holder-tt", "--grace-period=1", "--wait=false"])).code, 0);
      const stderr = text + await drain(rest);
      assertEquals((await del.status).code, 0, stderr);
      assertStringIncludes(await out, "session/tt deleted");
      // delete returned: the claims are gone, so the same name starts afresh
      assertEquals(
        (await w.kc(["get", "pvc", "-l", "kodama.dev/session=tt", "-o", "name"])).stdout.trim(),
        "",
      );
    } finally {
      await w.kc(["delete", "pod", "holder-tt", "--grace-period=0", "--force", "--ignore-not-found"]);
      await purge(w, "tt");
    }
  },
);

withSessionWorld(
  "delete: the local state goes with the objects, even when Ctrl-C cuts the wait for the pod short",
  {},
  async (_t, w) => {
    const hold = (finalizers: string[] | null) => JSON.stringify({ metadata: { finalizers } });
    try {
      const s = await w.k(["start", "hd", "--image", SESSION_IMAGE]);
      assertEquals(s.code, 0, s.stderr);
      const state = `${w.home}/sessions/hd.yaml`;
      assert(await Deno.stat(state).then(() => true, () => false), "start wrote the local state");
      // a finalizer (another controller's) keeps the pod Terminating after it is deleted: delete waits
      assertEquals(
        (await w.kc([
          "patch",
          "pod",
          await podOf(w, "hd"),
          "--type",
          "merge",
          "-p",
          hold(["example.com/hold"]),
        ])).code,
        0,
      );
      const del = w.spawn(["delete", "hd", "--force"]);
      const out = drain(del.stdout.getReader());
      const err = drain(del.stderr.getReader());
      await waitUntil(
        async () =>
          (await w.kc(["get", "pod", await podOf(w, "hd"), "-o", "jsonpath={.metadata.deletionTimestamp}"]))
            .stdout !==
            "",
        30_000,
        "the pod to be marked for deletion",
      );
      // fixed: delete shows no sign that it waits for the pod; a second lets it get there before Ctrl-C
      await new Promise((r) => setTimeout(r, 1000));
      del.kill("SIGINT");
      const { code } = await del.status;
      const stderr = await err;
      await out;
      assertEquals(code, 130, stderr);
      assert(!hasStackTrace(stderr));
      assert(!await Deno.stat(state).then(() => true, () => false), "the local state is gone");
      // what delete asked for is done: only the held pod is left, and it goes with its finalizer
      assertEquals(
        (await w.kc(["get", "secret,configmap", "-l", "kodama.dev/session=hd", "-o", "name"])).stdout,
        "",
      );
      const held = await podOf(w, "hd");
      assertEquals((await w.kc(["patch", "pod", held, "--type", "merge", "-p", hold(null)])).code, 0);
      assertEquals((await w.kc(["wait", "--for=delete", `pod/${held}`, "--timeout=60s"])).code, 0);
    } finally {
      await w.kc(["patch", "pod", await podOf(w, "hd"), "--type", "merge", "-p", hold(null)]);
      await purge(w, "hd");
    }
  },
);

withSessionWorld(
  "start: a claim of the name kodama did not make fails the start (exit 2); what the same round made is cleaned up",
  {},
  async (_t, w) => {
    try {
      // someone else's claim where the agent-home volume would go (no kodama labels)
      const foreign = {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "kodama-claude-home-fx", labels: { owner: "someone" } },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      };
      const mk = await kubectl(w.c, ["-n", "dev", "apply", "-f", "-"], {
        context: "dev",
        stdin: JSON.stringify(foreign),
      });
      assertEquals(mk.code, 0, mk.stderr);
      const r = await w.k(["start", "fx", "--image", SESSION_IMAGE]);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(
        r.stderr,
        "PersistentVolumeClaim kodama-claude-home-fx already exists in namespace dev and is not a volume kodama kept",
      );
      assert(!hasStackTrace(r.stderr));
      // the ConfigMap and the workspace claim went out in the same round as the failing one: the ConfigMap
      // and the Secret are removed, the workspace kept (volumes always are), the foreign claim untouched
      assertMatch(r.stderr, /configmap kodama-editor-config-fx/);
      const left = await w.kc([
        "get",
        "pods,secrets,configmaps",
        "-l",
        "kodama.dev/session=fx",
        "-o",
        "name",
      ]);
      assertEquals(left.stdout.trim(), "");
      const other = await w.kc(["get", "pvc", "kodama-claude-home-fx", "-o", "jsonpath={.metadata.labels}"]);
      assertEquals(JSON.parse(other.stdout), { owner: "someone" });
    } finally {
      await purge(w, "fx");
      await w.kc(["delete", "pvc", "kodama-claude-home-fx", "--ignore-not-found"]);
    }
  },
);
