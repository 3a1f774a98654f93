/**
 * What the session's pod programs (src/session/pod, src/session/sync/pod) and the TypeScript must agree on
 * is one literal in the program, checked here against the TypeScript constant: the idle watchdog's marks
 * and files (session/lifecycle/lifetime.ts), the watcher's stat formats and factors (sync/podside.ts), the node
 * apply's "cannot run here" code (sync/podapply.ts).
 */
import { assert, assertEquals } from "@kodama/test-assert";
import {
  IDLE_IGNORE_MARK,
  IDLE_STATE,
  idleFile,
  SYNC_WATCHER_MARK,
} from "../../../src/session/lifecycle/lifetime.ts";
import {
  APPLY2_SCRIPT,
  EVENT_FULL_FACTOR,
  EVENT_WALK_EVERY,
  EVENTS_JS,
  PRINTF,
  STAT,
  WATCH_SCRIPT,
  watcherCommand,
} from "../../../src/session/sync/podside.ts";
import { APPLY_JS, NODE_UNFIT } from "../../../src/session/sync/podapply.ts";
import { CHANNEL_SCRIPT, GZIP_APPLY_SCRIPT } from "../../../src/session/sync/remote.ts";
import { APPLY_SCRIPT } from "../../../src/session/sync/batch.ts";
import { ACK_SCRIPT, FETCH_SCRIPT } from "../../../src/session/sync/twoway.ts";
import { FETCH_SCRIPT as FETCH_GIT, MARK as GIT_MARK } from "../../../src/session/git/fetch.ts";
import COPY_WAIT from "../../../src/session/pod/copywait.sh" with { type: "text" };

const firstLine = (s: string) => s.slice(0, s.indexOf("\n"));
const has = (what: string, text: string, part: string) =>
  assert(text.includes(part), `${what} has no ${part}`);

Deno.test("pod files: what only looks is marked kodama-idle-ignore on its first line; what writes is not", () => {
  const looks = { WATCH_SCRIPT, EVENTS_JS, APPLY_JS, CHANNEL_SCRIPT, FETCH_SCRIPT, ACK_SCRIPT };
  for (const [name, text] of Object.entries(looks)) {
    assert(firstLine(text).includes(IDLE_IGNORE_MARK), `${name}: ${firstLine(text)}`);
  }
  // a push's or an apply's writes are activity for an idle stop
  for (const [name, text] of Object.entries({ APPLY_SCRIPT, APPLY2_SCRIPT, GZIP_APPLY_SCRIPT })) {
    assert(!text.includes(IDLE_IGNORE_MARK), name);
  }
});

Deno.test("pod files: the watcher carries SYNC_WATCHER_MARK as an argument, a one-round listing does not", () => {
  for (const text of [WATCH_SCRIPT, EVENTS_JS]) assert(!text.includes(SYNC_WATCHER_MARK));
  const loop = watcherCommand("/w", { full: 40, tick: 0.5, git: false, events: true });
  assertEquals(loop.slice(4), ["/w", "40", "0.5", "0", "1", SYNC_WATCHER_MARK, EVENTS_JS]);
  const once = watcherCommand("/w", { full: 1, tick: "once", git: true });
  assertEquals(once.slice(4), ["/w", "1", "once", "1", "0", "", ""]);
  assert(!once.some((a) => a.includes(SYNC_WATCHER_MARK)));
});

Deno.test("pod files: the watchdog's files are lifetime.ts's", () => {
  assertEquals(idleFile("stopping"), `\${KODAMA_IDLE_STATE:-${IDLE_STATE}}.stopping`);
  has("watch.sh", WATCH_SCRIPT, `s=${idleFile("stopping")}\n`);
  has("ack.sh", ACK_SCRIPT, `echo "$1" >> "${idleFile("ack")}"`);
});

Deno.test("pod files: the watcher's formats and factors are podside.ts's", () => {
  has("watch.sh", WATCH_SCRIPT, `-exec ${STAT} {} +`);
  has("watch.sh", WATCH_SCRIPT, `-printf '${PRINTF.replace("\n", "\\n")}'`);
  has("watch.sh", WATCH_SCRIPT, `f=$((full * ${EVENT_FULL_FACTOR}))`);
  has("watch.sh", WATCH_SCRIPT, `[ $q -lt ${EVENT_WALK_EVERY} ]`);
  has("apply2.sh", APPLY2_SCRIPT, STAT);
});

Deno.test("pod files: the node apply's 'cannot run here' code is NODE_UNFIT in both programs", () => {
  has("apply.js", APPLY_JS, `process.exit(${NODE_UNFIT})`);
  has("channel.sh", CHANNEL_SCRIPT, `[ "$c" = ${NODE_UNFIT} ]`);
});

Deno.test("pod files: the session fetch's stderr lines carry fetch.ts's MARK", () => {
  for (
    const line of [
      "printf 'kodama-fetch: branch=",
      "--format='kodama-fetch: ref=",
      "s/^/kodama-fetch: root=/",
    ]
  ) {
    has("gitfetch.sh", FETCH_GIT, line.replaceAll("kodama-fetch:", GIT_MARK));
  }
  has("gitfetch.sh", FETCH_GIT, `echo "${GIT_MARK} new=$n" >&2`);
});

Deno.test("pod files: no session pod program holds $$ (Kubernetes turns it into $ in a container command)", () => {
  for (const [name, text] of Object.entries({ COPY_WAIT })) assert(!text.includes("$$"), name);
});
