/** `port-forward`: forward local ports to a target's first pod for the steps that follow; closed afterwards. */
import type { StepKind } from "../types.ts";
import { describePods } from "./common.ts";

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
    return `port-forward ${s.ports.join(", ")} to ${describePods({ ...t, pods: t.pods.slice(0, 1) })}`;
  },
  async run(s, ctx) {
    const t = await ctx.run.target(s.target);
    const kube = await ctx.run.kube();
    const { portForward, parsePortSpec, containerPortByName } = await import("../../pods/portforward.ts");
    const specs = s.ports.map((p) => ({ ...parsePortSpec(String(p)), address: s.address }));
    const fwd = await portForward(
      kube,
      t.pods[0],
      specs,
      { onEvent: (e) => ctx.run.note(e) },
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
