/**
 * Picker: re-filtering 50,000 pod names after a keystroke. Target: p95 under 16 ms.
 *
 * 50,000 realistic pod names (Deployment `app-<rs hash>-<pod hash>`, StatefulSet `app-N`, DaemonSet
 * `app-<hash>`) across 40 namespaces, matched as `namespace/name` (the -A picker). A scripted sequence of
 * 12 keystrokes (typing, a Backspace, fzf extended syntax `^prefix` and `!negation`) goes through the
 * state machine, and each keystroke is timed up to a rendered 120x40 screen (highlights included).
 * The peer is Debian's `fzf --filter` on the same lines and the same queries, same run (skipped when fzf
 * is missing); its time includes process start and reading the 50,000 lines, which is what a script pays.
 * Match counts of both are compared as a correctness check, for the queries without anchored terms (in the
 * -A picker `^pr` matches the pod name, which fzf on `namespace/name` lines has no single equivalent for).
 */
import process from "node:process";
import { benchLine, type BenchResult, fmtMs, median, percentile, smokeFlag } from "./_util.ts";
import { createState, onKey, type PickerItem, setViewport } from "../src/picker/state.ts";
import { render } from "../src/picker/render.ts";
import { parseQuery } from "../src/picker/match.ts";

const KEYS = ["a", "p", "i", "-", "backspace", " ", "^", "p", "r", " ", "!", "c"] as const;

/** Deterministic pseudo-random pod names. */
export function podNames(n: number, seed = 1): { namespace: string; name: string }[] {
  let x = seed;
  const rnd = (k: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const ALNUM = "bcdfghjklmnpqrstvwxz2456789"; // Kubernetes' SafeEncodeString alphabet
  const hash = (len: number) => Array.from({ length: len }, () => ALNUM[rnd(ALNUM.length)]).join("");
  const namespaces = [
    "prod",
    "staging",
    "dev",
    "kube-system",
    "monitoring",
    "logging",
    "ingress-nginx",
    "cert-manager",
    "weka-operator-system",
    "payments",
    "search",
    "checkout",
    "identity",
    "data-platform",
    "ml-training",
    "ml-serving",
    "analytics",
    "batch",
    "ci",
    "argocd",
    "istio-system",
    "vault",
    "kafka",
    "redis",
    "postgres",
    "observability",
    "tenant-a",
    "tenant-b",
    "tenant-c",
    "tenant-d",
    "edge",
    "billing",
    "notifications",
    "catalog",
    "recommendations",
    "media",
    "backoffice",
    "sandbox",
    "qa",
    "perf",
  ];
  const apps = [
    "api",
    "web",
    "worker",
    "scheduler",
    "frontend",
    "backend",
    "gateway",
    "auth-service",
    "payments-api",
    "search-indexer",
    "kafka-broker",
    "zookeeper",
    "redis-master",
    "redis-replica",
    "postgres",
    "spark-driver",
    "spark-executor",
    "prometheus-node-exporter",
    "fluent-bit",
    "nginx-ingress-controller",
    "coredns",
    "cert-manager-webhook",
    "grafana",
    "loki",
    "thanos-store",
    "weka-drive",
    "weka-compute",
    "envoy",
    "istio-proxy",
    "vault-agent",
    "notification-dispatcher",
    "image-resizer",
    "recommendation-engine",
    "checkout-service",
    "cart-service",
    "inventory-sync",
    "billing-reconciler",
    "audit-log-shipper",
  ];
  const out: { namespace: string; name: string }[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const namespace = namespaces[rnd(namespaces.length)];
    const app = apps[rnd(apps.length)];
    const kind = rnd(10);
    const name = kind < 7
      ? `${app}-${hash(rnd(2) ? 10 : 9)}-${hash(5)}`
      : kind < 9
      ? `${app}-${rnd(200)}`
      : `${app}-${hash(5)}`;
    const id = `${namespace}/${name}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ namespace, name });
  }
  return out;
}

function queries(): string[] {
  const qs: string[] = [];
  let q = "";
  for (const k of KEYS) {
    q = k === "backspace" ? q.slice(0, -1) : q + k;
    qs.push(q);
  }
  return qs;
}

async function fzfAvailable(): Promise<boolean> {
  try {
    return (await new Deno.Command("fzf", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** One `fzf --filter` run: wall time and number of matched lines. */
async function fzfFilter(input: Uint8Array, query: string): Promise<{ ms: number; count: number }> {
  const t0 = performance.now();
  const child = new Deno.Command("fzf", {
    args: ["--filter", query],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  const ms = performance.now() - t0;
  const text = new TextDecoder().decode(out.stdout);
  return { ms, count: text ? text.split("\n").filter(Boolean).length : 0 };
}

export async function benchPicker(n = 50_000): Promise<BenchResult> {
  const pods = podNames(n);
  const items: PickerItem<null>[] = pods.map((p) => ({
    id: `${p.namespace}/${p.name}`,
    label: p.name,
    namespace: p.namespace,
    payload: null,
  }));
  const t0 = performance.now();
  let s = setViewport(createState(items, { showNamespace: true, multi: true }), 120, 40);
  render(s);
  const openMs = performance.now() - t0;
  const t1 = performance.now();
  s.matcher.warm(); // what the picker does right after its first draw
  const warmMs = performance.now() - t1;

  const times: number[] = [];
  const cpu: number[] = [];
  const counts: number[] = [];
  for (const k of KEYS) {
    const c = process.cpuUsage();
    const t = performance.now();
    s = onKey(s, k === "backspace" ? "backspace" : { text: k }).state;
    render(s);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    counts.push(s.result.indices.length);
  }

  const qs = queries();
  const lines = [
    `items                     ${n} pod names in 40 namespaces, matched as namespace/name`,
    `open (index + first draw) ${fmtMs(openMs)}   warm-up after first draw ${fmtMs(warmMs)}`,
    `keystrokes                ${qs.map((q) => JSON.stringify(q)).join(" ")}`,
    `kodama per keystroke      p50 ${fmtMs(median(times))}  p95 ${fmtMs(percentile(times, 95))}  max ${
      fmtMs(Math.max(...times))
    }  (state machine + 120x40 render)`,
    `  each                    ${times.map((t) => t.toFixed(1)).join(" ")} ms`,
    `  cpu time                p50 ${fmtMs(median(cpu))}  p95 ${
      fmtMs(percentile(cpu, 95))
    }  (process CPU; wall > cpu means the machine was busy)`,
    `  load average            ${
      Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
    } on ${navigator.hardwareConcurrency} CPUs`,
  ];
  const p95 = percentile(times, 95);
  const figures: Record<string, number> = { openMs, p50Ms: median(times), p95Ms: p95, matches: counts[0] };
  const problems: string[] = [];
  if (await fzfAvailable()) {
    const input = new TextEncoder().encode(items.map((i) => i.id).join("\n") + "\n");
    await fzfFilter(input, "warm"); // page cache
    const f: { ms: number; count: number }[] = [];
    for (const q of qs) f.push(await fzfFilter(input, q));
    const fms = f.map((r) => r.ms);
    const comparable = (q: string) => !parseQuery(q).flat().some((t) => t.anchored);
    const mismatch = qs.filter((q, i) => comparable(q) && f[i].count !== counts[i]);
    const compared = qs.filter(comparable).length;
    if (mismatch.length) problems.push(`match counts differ from fzf's for ${mismatch.join(", ")}`);
    figures.fzfP95Ms = percentile(fms, 95);
    lines.push(
      `fzf --filter per query    p50 ${fmtMs(median(fms))}  p95 ${fmtMs(percentile(fms, 95))}  max ${
        fmtMs(Math.max(...fms))
      }  (process + 50,000 lines on stdin)`,
      `  each                    ${fms.map((t) => t.toFixed(1)).join(" ")} ms`,
      `match counts              ${
        mismatch.length === 0
          ? `identical for the ${compared} queries without anchored terms (${counts.join(" ")})`
          : `DIFFER for ${mismatch.map((q) => JSON.stringify(q)).join(", ")}: kodama ${
            counts.join(" ")
          } vs fzf ${f.map((r) => r.count).join(" ")}`
      }`,
      `ratio fzf/kodama (p95)    ${(percentile(fms, 95) / p95).toFixed(1)}x`,
    );
  } else {
    lines.push("fzf --filter              skipped: fzf is not installed (apt-get install fzf)");
  }
  lines.push(`target p95 < 16 ms        ${p95 < 16 ? "OK" : "MISSED"} (${fmtMs(p95)})`);
  return { name: "picker", lines, figures, problems };
}

export const main = benchPicker;

/** The smoke run (tests/integration/bench_smoke_test.ts): 5,000 names. */
export const benchPickerSmoke = () => benchPicker(5_000);

if (import.meta.main) {
  const r = smokeFlag() ? await benchPickerSmoke() : await benchPicker(Number(Deno.args[0] ?? 50_000));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
}
