/**
 * Expiry (issue 34): `start --ttl` records an expiry in the session's settings; `list -o wide` shows
 * EXPIRES and `list` warns on a line of its own once sessions have expired; `kodama gc --dry-run` lists
 * them and changes nothing; `gc` needs --force without a terminal; it keeps the volumes unless --purge;
 * a namespace the user cannot list is a clear RBAC message (exit 4).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { waitUntil } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

withSessionWorld("gc: expired sessions are listed, warned about, and deleted (volumes kept unless --purge)", {
  timeoutMs: 240_000,
}, async (_t, w) => {
  const names = ["old1", "old2", "keep"];
  try {
    const base = ["--image", SESSION_IMAGE, "--no-sync", "--no-wait"];
    for (const [n, ttl] of [["old1", "3s"], ["old2", "3s"], ["keep", "1h"]]) {
      const r = await w.k(["start", n, ...base, "--ttl", ttl]);
      assertEquals(r.code, 0, r.stderr);
    }
    const started = Date.now();
    await waitUntil(() => Date.now() - started > 4000, 10_000, "the ttl to pass");
    const list = await w.k(["list", "-o", "wide"]);
    assertEquals(list.code, 0, list.stderr);
    assertMatch(
      list.stdout,
      /^NAME\s+NAMESPACE\s+STATUS\s+SYNC\s+BRANCH\s+READY\s+OWNER\s+AGE\s+EXPIRES\s+IMAGE/m,
    );
    assertMatch(list.stdout, /^old1\s.*\sexpired \S+ ago\s/m);
    assertMatch(list.stdout, /^keep\s.*\sin (59m|1h)\s/m);
    assertMatch(list.stderr, /^warning: 2 sessions have expired \(old1, old2\): `kodama gc` deletes them/m);
    const j = JSON.parse((await w.k(["list", "-o", "json"])).stdout);
    // (a real cluster's namespace may hold other sessions: only this test's are looked at)
    const mine = j.items.filter((i: { metadata: { name: string } }) => names.includes(i.metadata.name));
    assertEquals(mine.length, 3);
    assert(mine.every((i: { spec: { expiresAt?: string } }) => typeof i.spec.expiresAt === "string"));

    // --dry-run: the expired ones, and nothing changes
    const before = (await w.kc(["get", "pods,pvc,secrets", "-l", "kodama.dev/session", "-o", "name"])).stdout;
    const dry = await w.k(["gc", "--dry-run"]);
    assertEquals(dry.code, 0, dry.stderr);
    assertMatch(dry.stdout, /^old1\s+dev\s/m);
    assertMatch(dry.stdout, /^old2\s+dev\s/m);
    assert(!/^keep\s/m.test(dry.stdout), dry.stdout);
    assertStringIncludes(dry.stderr, "would delete 2 expired sessions; their volumes are kept");
    const after = (await w.kc(["get", "pods,pvc,secrets", "-l", "kodama.dev/session", "-o", "name"])).stdout;
    assertEquals(after, before);

    // no terminal, no --force: one line, exit 2, nothing deleted
    const no = await w.k(["gc"]);
    assertEquals(no.code, 2, no.stderr);
    assertMatch(no.stderr, /not deleting 2 expired sessions without confirmation: no terminal to ask on/);
    assert(!hasStackTrace(no.stderr));

    // --force: both go, their volumes kept (marked as kept, as delete does)
    const gc = await w.k(["gc", "--force"]);
    assertEquals(gc.code, 0, gc.stderr);
    const left = await w.kc([
      "get",
      "pods,secrets,networkpolicies",
      "-l",
      "kodama.dev/session",
      "-o",
      "name",
    ]);
    assert(!/old1|old2/.test(left.stdout), left.stdout);
    assertStringIncludes(left.stdout, "secret/kodama-env-keep");
    // the egress policy goes with its session, the live one's stays
    assertStringIncludes(left.stdout, "networkpolicy.networking.k8s.io/kodama-egress-keep");
    const kept = await w.kc(["get", "pvc", "kodama-workspace-old1", "-o", "jsonpath={.metadata.labels}"]);
    assertStringIncludes(kept.stdout, "kodama.dev/retained");
    // they are no sessions, but `list` says they are there and what to do with them
    const listKept = await w.k(["list"]);
    assertEquals(listKept.code, 0, listKept.stderr);
    assert(!/^old[12]\s/m.test(listKept.stdout), listKept.stdout);
    assertMatch(
      listKept.stderr,
      /^note: 2 deleted sessions kept their volumes \(old1, old2\): `kodama start NAME` reuses them, `kodama delete NAME --purge` removes them$/m,
    );
    // every namespace (as the admin context; user dev may list only dev): each named with its namespace
    const all = await w.k(["list", "-A", "--context", "admin"]);
    assertEquals(all.code, 0, all.stderr);
    assertMatch(all.stderr, /deleted sessions kept their volumes \((\S+, )*dev\/old1, dev\/old2[,)]/);
    const again = await w.k(["gc", "--dry-run"]);
    assertStringIncludes(again.stderr, "no expired sessions in namespace dev");

    // --purge: a new expired session goes with its volumes
    const r = await w.k(["start", "old3", ...base, "--ttl", "2s"]);
    assertEquals(r.code, 0, r.stderr);
    const t3 = Date.now();
    await waitUntil(() => Date.now() - t3 > 3000, 10_000, "the ttl to pass");
    const p = await w.k(["gc", "--force", "--purge"]);
    assertEquals(p.code, 0, p.stderr);
    const pvc = await w.kc(["get", "pvc", "-l", "kodama.dev/session=old3", "-o", "name"]);
    assertEquals(pvc.stdout.trim(), "");
  } finally {
    for (const n of [...names, "old3"]) await purge(w, n);
  }
});

withSessionWorld(
  "gc: a namespace the user cannot list is a clear RBAC message, exit 4",
  {},
  async (_t, w) => {
    const r = await w.k(["gc", "--dry-run", "-n", "kube-system"]);
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /^(error: )?gc: cannot list sessions in namespace kube-system: .*forbidden/im);
    assertStringIncludes(r.stderr, "gc needs list on pods and persistentvolumeclaims");
    assert(r.stderr.trim().split("\n").length <= 2, r.stderr);
    assert(!hasStackTrace(r.stderr));
  },
);
