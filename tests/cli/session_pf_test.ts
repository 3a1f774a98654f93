/**
 * `kodama pf NAME` without ports, black-box as the restricted `dev` user: the ports the session declares (a
 * template's `ports`, its sidecars' `port=N`) are forwarded, each on the same local port, and reach the
 * sidecar; a session that declares none is exit 2 with a hint; a word that is no session keeps kubectl's rule.
 * Test server only: the sidecar serves with the test server's `http-echo` command.
 */
import { assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { onRealCluster } from "../cluster/harness.ts";
import { hasStackTrace } from "./_run.ts";
import { podOf, purge, readUntil, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

/**
 * Two adjacent loopback ports, free now, below Linux's ephemeral range (32768-60999): a random pick inside it
 * can be any connection's local port at the moment `pf` binds it (the suite makes thousands), and the bind
 * fails. Each is bound and closed here first; a taken one means another pick.
 */
function freePortPair(): [number, number] {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const held: Deno.Listener[] = [];
    try {
      for (const port of [base, base + 1]) held.push(Deno.listen({ hostname: "127.0.0.1", port }));
      return [base, base + 1];
    } catch {
      // taken: another pick
    } finally {
      for (const l of held) l.close();
    }
  }
}

withSessionWorld(
  "pf NAME: the session's declared ports (template ports, sidecar port=N)",
  { seed: "demo", ignore: onRealCluster, timeoutMs: 300_000 },
  async (t, w) => {
    const [P1, P2] = freePortPair();
    // the sidecar ends on the kubelet's TERM: `http-echo` as PID 1 ignores it, and the purge waited out the
    // session pod's 30 s grace period for it
    await Deno.mkdir(join(w.cwd, ".kodama", "templates"), { recursive: true });
    await Deno.writeTextFile(
      join(w.cwd, ".kodama/templates/web.yaml"),
      `image: ${SESSION_IMAGE}
ports: [${P1}]
sidecars:
  - name: web
    image: ${SESSION_IMAGE}
    command: [sh, -c, "trap 'exit 0' TERM; http-echo & wait"]
    env: { PORT: "${P2}", POD_NAME: sidecar-web }
    ports: [${P2}]
sync: { enabled: false }
`,
    );
    try {
      await t.step("pf NAME forwards both ports; the sidecar's answers", async () => {
        const r = await w.k(["start", "pfs", "--template", "web", "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        const p = w.spawn(["pf", "pfs"]);
        try {
          const forwarding = new RegExp(`Forwarding from [^\\n]*:${P2} -> `);
          const got = await readUntil(p.stdout, forwarding);
          got.rest.releaseLock();
          if (!forwarding.test(got.text)) {
            throw new Error(`pf ended before forwarding:\n${got.text}${await new Response(p.stderr).text()}`);
          }
          assertStringIncludes(got.text, `:${P1} -> pod/${await podOf(w, "pfs")}:${P1}`);
          assertStringIncludes(got.text, `:${P2} -> pod/${await podOf(w, "pfs")}:${P2}`);
          let body = "";
          const deadline = Date.now() + 30_000;
          while (Date.now() < deadline) {
            body = await fetch(`http://127.0.0.1:${P2}/`).then((x) => x.text(), () => "");
            if (body) break;
            await new Promise((res) => setTimeout(res, 200));
          }
          assertEquals(body, "sidecar-web\n");
          // still forwarding after the answers (until Ctrl-C); if it ended by itself, say why
          const ended = await Promise.race([
            p.status.then(() => true),
            new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
          ]);
          if (ended) throw new Error(`pf ended by itself: ${await new Response(p.stderr).text()}`);
        } finally {
          try {
            p.kill("SIGINT");
          } catch { /* ended by itself: said above */ }
          await p.status;
          await p.stderr.cancel().catch(() => {});
          await p.stdout.cancel().catch(() => {});
        }
      });

      await t.step("a session that declares no ports: exit 2 with the way to name them", async () => {
        const r = await w.k(["start", "pfn", "--image", SESSION_IMAGE, "--no-sync"]);
        assertEquals(r.code, 0, r.stderr);
        const pf = await w.k(["pf", "pfn"]);
        assertEquals(pf.code, 2, pf.stderr);
        assertStringIncludes(pf.stderr, "session pfn declares no ports to forward");
        assertStringIncludes(pf.stderr, "kodama pf pfn 8080");
        assertEquals(hasStackTrace(pf.stderr), false);
      });

      await t.step(
        "a word that names no session keeps port-forward's own reading (a named port)",
        async () => {
          // `pf http` is a named port of the pod the flags choose: here two pods could be meant
          const pf = await w.k(["pf", "nosuch"]);
          assertEquals(pf.code, 2, pf.stderr);
          assertStringIncludes(pf.stderr, "2 pods match");
          assertEquals(pf.stderr.includes("declares no ports"), false);
        },
      );
    } finally {
      for (const s of ["pfs", "pfn"]) await purge(w, s);
    }
  },
);
