/** `port-forward`: forward local ports to a target's first pod for the steps that follow; closed afterwards. */
import type { StepKind } from "../types.ts";
import { describePods, wholeKube } from "./common.ts";
import { ExitCode, KodamaError } from "../../base/errors.ts";
import { quote } from "../../base/text/escape.ts";

/** 127.0.0.0/8, ::1 (also written IPv4-mapped or in full), localhost: reachable only from this machine. */
export function isLoopback(address: string): boolean {
  const a = address.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (a === "localhost") return true;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255 && !/^0\d/.test(o)) && v4[1] === "127";
  return a === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(a) || a === "0:0:0:0:0:0:0:1";
}

/**
 * A listener beyond loopback lets other machines reach the pod: each such address must be granted in
 * `permissions.net` (as `ADDRESS` or `ADDRESS:PORT`), which makes a repo workflow ask for trust.
 */
export function checkListenAddress(address: string | undefined, ports: (string | number)[], net: string[]) {
  for (const raw of (address ?? "127.0.0.1").split(",").map((x) => x.trim()).filter(Boolean)) {
    if (isLoopback(raw)) continue;
    const host = raw.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    const locals = ports.map((p) => String(p).includes(":") ? String(p).split(":")[0] : String(p));
    const ok = net.some((g) => {
      const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(g.trim().toLowerCase());
      if (!m || m[1] !== host) return false;
      return m[2] === undefined || locals.every((l) => l === m[2]);
    });
    if (!ok) {
      throw new KodamaError(
        `port-forward: listening on ${raw} opens the pod to other machines, and permissions.net does not grant it`,
        ExitCode.FORBIDDEN,
        `add ${quote(raw)} to permissions.net (the trust prompt shows it), or use the default 127.0.0.1`,
      );
    }
  }
}

/** A forward's per-connection event, as `kodama port-forward` shows only with --verbose. */
export function perConnection(event: string): boolean {
  return /^(Handling|Closed) connection\b/.test(event);
}

export interface PortForwardSpec {
  target: string;
  ports: (string | number)[];
  address?: string;
}

export const portForward: StepKind<PortForwardSpec> = {
  name: "port-forward",
  summary: "forward local ports to a target's pod while the rest of the workflow (or its group) runs",
  spec: ({ z }) =>
    z.object({
      target: z.string().describe("a key of `targets` (its first pod is used)"),
      ports: z.array(
        z.union([z.number().int().min(1).max(65535), z.string().regex(/^(\d*:)?[A-Za-z0-9-]+$/)]),
      )
        .min(1).describe(
          "like kubectl: 8080 (same local port), 9000:8080, :8080 (free local port), :http (named port)",
        ),
      address: z.string().optional().describe("local address (default 127.0.0.1)"),
    }).strict(),
  targets: (s) => [s.target],
  async plan(s, ctx) {
    const t = await ctx.run.target(s.target);
    let refused = "";
    try {
      checkListenAddress(s.address, s.ports, ctx.run.permissions.net ?? []);
    } catch (e) {
      refused = `  (${(e as Error).message}: will be refused)`;
    }
    return `port-forward ${s.ports.join(", ")}${s.address ? ` on ${s.address}` : ""} to ${
      describePods({ ...t, pods: t.pods.slice(0, 1) })
    }${refused}`;
  },
  async run(s, ctx) {
    checkListenAddress(s.address, s.ports, ctx.run.permissions.net ?? []);
    const t = await ctx.run.target(s.target);
    const kube = await wholeKube(ctx.run, "a port-forward step");
    const { portForward, parsePortSpec, containerPortByName } = await import("../../pods/portforward.ts");
    const specs = s.ports.map((p) => ({ ...parsePortSpec(String(p)), address: s.address }));
    const fwd = await portForward(
      kube,
      t.pods[0],
      specs,
      // each connection's own lines (kubectl's "Handling connection for …") stay out of the workflow's output
      { onEvent: (e) => perConnection(e) || ctx.run.note(e) },
    );
    ctx.run.onCleanup(async () => {
      await Promise.all(fwd.map((f) => f.close().catch(() => {})));
    });
    // remote -> local; a named port (`:http`) is listed under its name and its number
    const ports: Record<string, number> = {};
    for (const f of fwd) ports[String(f.remote)] ??= f.local;
    for (const spec of specs) {
      if (typeof spec.remote !== "string") continue;
      const f = fwd.find((x) => x.remote === containerPortByName(t.pods[0], spec.remote));
      if (f) ports[spec.remote] ??= f.local;
    }
    for (const f of fwd) ctx.run.note(`forwarding ${f.address}:${f.local} -> ${f.pod}:${f.remote}`);
    const first = fwd[0];
    const host = first?.address.includes(":") ? `[${first.address}]` : first?.address;
    return {
      ok: true,
      outputs: {
        ports,
        port: first?.local,
        address: first?.address,
        url: `http://${host}:${first?.local}`,
        pod: first?.pod,
      },
    };
  },
};
