/**
 * The gateway's promise, seen from inside a session pod: "the key never enters a session pod". A session
 * started through a gateway reads every /proc/PID/environ and /proc/PID/cmdline it can see and finds
 * neither key (the model key, the git token); and it sees none of the gateway's processes at all, nor
 * any other process that is not its own pod's — as on a node, where each container has its own PID
 * namespace. On the test server this is its PID namespaces (tests/cluster/runtime/podns.ts); before them a
 * pod saw every process of this machine, the gateway's `node gateway.js` included.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { onRealCluster } from "../cluster/harness.ts";
import { podFsInfo } from "../cluster/runtime/podns.ts";
import { podOf, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const KEY = "sk-ant-api03-isolationtestkey-0123456789abcdefQRST";
const GH = "ghp_isolationtesttoken0123456789abcd";
const env = { ANTHROPIC_API_KEY: KEY, GITHUB_TOKEN: GH };

/**
 * What a pod's shell reports of the processes it can see: `foreign PID ARGV` for each whose environment
 * is not this session pod's (KODAMA_SESSION=NAME), `seen N` (how many it saw), `hits: FILES` (those whose
 * environment or command line holds a key) and `grep exit N`. The keys reach the script in halves and
 * are joined in a file, so no command line of its own holds one. `token in N`: how many hold the session's
 * gateway token (the same grep, finding what is there).
 */
function scanScript(session: string): string {
  const half = (s: string) => [s.slice(0, 12), s.slice(12)];
  const [k1, k2] = half(KEY);
  const [g1, g2] = half(GH);
  return [
    `printf '%s%s\\n%s%s\\n' '${k1}' '${k2}' '${g1}' '${g2}' > /tmp/.keys`,
    "n=0",
    "for d in /proc/[0-9]*; do",
    '  e=$(tr "\\0" "\\n" < "$d/environ" 2>/dev/null) || continue',
    '  [ -n "$e" ] || continue',
    "  n=$((n + 1))",
    `  printf '%s\\n' "$e" | grep -qx 'KODAMA_SESSION=${session}' ||`,
    '    echo "foreign ${d#/proc/} $(tr "\\0" " " < "$d/cmdline" 2>/dev/null)"',
    "done",
    'echo "seen $n"',
    'echo "hits: $(grep -l -F -f /tmp/.keys /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr "\\n" " ")"',
    'grep -q -F -f /tmp/.keys /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; echo "grep exit $?"',
    // the same grep finds what is there: the session's token
    'echo "token in $(grep -l -F kgw1. /proc/[0-9]*/environ 2>/dev/null | wc -l)"',
    "rm -f /tmp/.keys",
  ].join("\n");
}

/** This machine runs the gateway's `node …/gateway.js` (so that its absence from the pod's view says something). */
async function gatewayOnHost(): Promise<boolean> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = new TextDecoder().decode(await Deno.readFile(`/proc/${e.name}/cmdline`)).split("\0");
      if (argv.some((a) => a.endsWith("/gateway.js"))) return true;
    } catch { /* gone */ }
  }
  return false;
}

withSessionWorld(
  "gateway: from inside a session pod, no key in any process it can see, and none of the gateway's processes",
  {
    // the test server shares this machine's PID namespace where it cannot make one per container
    ignore: !onRealCluster && podFsInfo().pidns === false,
    timeoutMs: 4 * 60_000,
  },
  async (t, w) => {
    const made = await w.k(["gateway", "ensure", "--timeout", "90s"], { env });
    assertEquals(made.code, 0, made.stderr);
    const s = await w.k(["start", "iso", "--no-sync", "--image", SESSION_IMAGE], { env });
    assertEquals(s.code, 0, s.stderr);
    const pod = await podOf(w, "iso");
    if (!onRealCluster) assert(await gatewayOnHost(), "the gateway does not run on this machine");

    const check = (out: string) => {
      // 1: no match (2: no match, and a process ended between the shell's glob and grep's read)
      assertMatch(out, /^grep exit [12]$/m, out);
      assertMatch(out, /^hits: $/m, out);
      assert(Number(/^token in (\d+)$/m.exec(out)?.[1] ?? 0) >= 1, out);
      const seen = Number(/^seen (\d+)$/m.exec(out)?.[1] ?? 0);
      // the pod's keepalive and this exec at least
      assert(seen >= 2, out);
      const foreign = out.split("\n").filter((l) => l.startsWith("foreign "));
      assertEquals(foreign, [], "processes of something else than the session's pod are in sight");
      assert(!out.includes("gateway.js"), out);
    };

    await t.step("kubectl exec: its /proc shows the session's processes only, no key in them", async () => {
      const r = await w.kc(["exec", pod, "-c", "session", "--", "sh", "-c", scanScript("iso")]);
      assertEquals(r.code, 0, r.stderr);
      check(r.stdout);
    });

    await t.step("kodama exec, and a process the session started: the same", async () => {
      // a background process of the session's own, so the view holds more than the exec's shell
      const bg = await w.kc(["exec", pod, "-c", "session", "--", "sh", "-c", "sleep 600 >/dev/null 2>&1 &"]);
      assertEquals(bg.code, 0, bg.stderr);
      const r = await w.k(["exec", pod, "--", "sh", "-c", scanScript("iso")]);
      assertEquals(r.code, 0, r.stderr);
      check(r.stdout);
      assert(Number(/^seen (\d+)$/m.exec(r.stdout)?.[1]) >= 3, r.stdout);
    });
  },
);
