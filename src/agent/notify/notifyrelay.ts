/**
 * The laptop as the webhook's relay (docs/security.md, "Notifications: a key per session, the URL off the
 * pod"): a session no gateway relays for (`SessionSpec.notify.relay` "laptop") has neither the webhook's
 * URL nor any key in its pod, so its runs' ends are sent from here, when a command that waits on them sees
 * them end (`agent wait`, `agent logs -f`, `compare --wait`: AnnounceOptions.relay). The event is read from
 * the pod by kodama itself (notify.ts's RunEndNote), with the body the gateway relays (pod/notify.js's), and
 * signed with the user's key as receivers check it. A run is sent once per machine (`notify-sent` in
 * $KODAMA_HOME); `agent run --no-notify` marks its run there, sent or not.
 */
import { join } from "../../base/fs/fspath.ts";
import { kodamaHome } from "../../config/paths.ts";
import type { Config } from "../../config/schema.ts";
import type { Kube } from "../../kube/client.ts";
import { findSessionPod } from "../../session/state/cluster.ts";
import { type SessionSpec, specOf } from "../../session/spec/spec.ts";
import { notifyKey, signature } from "./notifykey.ts";
import { oneSafeLine, type RunEndNote, summaryLine } from "./notify.ts";

const SENT_FILE = "notify-sent";
const ATTEMPT_MS = 10_000;

/** The webhook's body of a run's end: pod/notify.js's fields, then the session's namespace. */
export function eventBody(n: RunEndNote, namespace: string): string {
  const slack = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return JSON.stringify({
    event: n.event,
    session: n.session,
    group: n.group ?? null,
    run: n.run ?? null,
    outcome: n.outcome,
    reason: n.reason === undefined ? null : oneSafeLine(n.reason, 300),
    filesChanged: n.filesChanged ?? null,
    commits: n.commits ?? null,
    text: slack(oneSafeLine(`kodama: ${summaryLine(n)}`, 400)),
    namespace,
  });
}

/** One POST, signed with `key`: the status, or the network error's code. */
async function post(url: string, body: string, key: string): Promise<{ status?: number; error?: string }> {
  const ts = String(Math.floor(Date.now() / 1000));
  try {
    const r = await fetch(url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": "kodama-notify",
        "x-kodama-timestamp": ts,
        "x-kodama-signature": await signature(key, ts, body),
      },
    });
    await r.body?.cancel();
    return { status: r.status };
  } catch (e) {
    return { error: e instanceof DOMException && e.name === "TimeoutError" ? "timeout" : "unreachable" };
  }
}

/** POST the event to the webhook, signed with the user's key: two attempts at most (the second after 3 s). */
export async function sendWebhook(url: string, key: string, body: string): Promise<string> {
  let r = await post(url, body, key);
  if (r.error || r.status! >= 500) {
    await new Promise((res) => setTimeout(res, 3000));
    r = await post(url, body, key);
  }
  return r.error ? `failed: ${r.error}` : r.status! < 300 ? `sent ${r.status}` : `failed: HTTP ${r.status}`;
}

const sentLine = (ns: string, session: string, gen: string, run: string) => `${ns} ${session} ${gen} ${run}`;

/** Mark a run as told (or never to be told: --no-notify); true when it was not marked before. */
export async function markSent(
  ns: string,
  session: string,
  gen: string,
  run: string,
  home: string = kodamaHome(),
): Promise<boolean> {
  const path = join(home, SENT_FILE);
  const line = sentLine(ns, session, gen, run);
  const text = await Deno.readTextFile(path).catch(() => "");
  if (text.split("\n").includes(line)) return false;
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  // the last 2,000 runs are enough to never tell one twice
  const kept = text.split("\n").filter(Boolean).slice(-1999);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, [...kept, line].join("\n") + "\n", { mode: 0o600 });
  await Deno.rename(tmp, path);
  return true;
}

/**
 * Send a run's end from this machine when the session's webhook is this machine's to send: the session
 * has one (its spec's notify), no gateway relays it, the event is one of the session's notify.on, and this
 * machine has not sent it. Returns what happened (`sent 200`), or undefined when it was not ours to send.
 */
export async function relayFromLaptop(
  n: RunEndNote,
  spec: SessionSpec | undefined,
  notify: Config["notify"],
  home: string = kodamaHome(),
): Promise<string | undefined> {
  const sn = spec?.notify;
  if (!spec || !sn || sn.relay !== "laptop" || !notify.webhook || n.run === undefined) return undefined;
  if (sn.on.length && !sn.on.includes(n.event)) return undefined;
  if (!await markSent(spec.namespace, spec.name, sn.gen, n.run, home)) return undefined;
  return await sendWebhook(notify.webhook, await notifyKey(home), eventBody(n, spec.namespace));
}

/** AnnounceOptions.relay for a namespace: each note's session's spec read from its pod, then relayFromLaptop. */
export function laptopRelay(
  kube: Kube,
  namespace: string,
  notify: Config["notify"],
  home?: string,
): (n: RunEndNote) => Promise<string | undefined> {
  return async (n) => {
    const pod = await findSessionPod(kube, namespace, n.session);
    return await relayFromLaptop(n, specOf(pod), notify, home);
  };
}
