/**
 * The pods page's API: the namespace's pods (a list, then watch events), a pod's logs followed as
 * `kodama logs -f` follows them, an exec terminal, and this machine's port-forwards (`pf --detach`, `pf
 * list`, `pf stop`) with their figures pushed when their state files change.
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { Kube } from "../kube/client.ts";
import { usageError } from "../base/errors.ts";
import { memorySink } from "../base/sink.ts";
import { stripAnsi } from "../ui/color.ts";
import { json, plain } from "./server.ts";
import { sse } from "./sse.ts";
import { terminalResponse } from "./terminal.ts";

/** A DNS-1123 name (namespaces, pods, containers). */
const DNS = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function dnsName(s: string | null | undefined, what: string): string {
  const n = decodeURIComponent(s ?? "");
  if (!DNS.test(n) || n.length > 253) throw usageError(`not a ${what} name: ${JSON.stringify(n)}`);
  return n;
}

/** Runs in the pod for an exec terminal: bash when the image has it, else sh. */
export const EXEC_SHELL = ["sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash || exec sh"];

export async function podsRoute(
  kube: Kube,
  req: Request,
  url: URL,
  parts: string[],
  upgrade: boolean,
  signal: AbortSignal,
): Promise<Response> {
  const [area, a, b, verb] = parts;
  const q = url.searchParams;
  if (area === "pods" && a === "events" && req.method === "GET") {
    const all = q.get("all") === "1";
    return sse(req, signal, async (send, sig) => {
      const { watchPodRows } = await import("../pods/live.ts");
      await watchPodRows(
        kube,
        all ? undefined : kube.namespace,
        (items) => send("pods", { items, namespace: all ? null : kube.namespace }),
        (type, row) => send("pod", { type, row }),
        sig,
      );
    });
  }
  if (area === "pods" && a && b) {
    const ns = dnsName(a, "namespace"), pod = dnsName(b, "pod");
    const container = q.get("container") ? dnsName(q.get("container"), "container") : undefined;
    if (verb === "exec" && upgrade) {
      return terminalResponse(req, kube, async () => {
        const { chooseContainer } = await import("../pods/target.ts");
        const p = await kube.getObject<V1Pod>("pods", ns, pod);
        return { namespace: ns, pod, container: chooseContainer(p, container), command: EXEC_SHELL };
      });
    }
    if (verb === "logs" && req.method === "GET") {
      const tail = Math.min(Math.max(Number(q.get("tail") ?? 500) || 500, 1), 10000);
      return sse(req, signal, async (send, sig) => {
        const [{ streamLogs }, p] = await Promise.all([
          import("../pods/logs.ts"),
          kube.getObject<V1Pod>("pods", ns, pod),
        ]);
        const dec = new TextDecoder();
        await streamLogs(kube, [p], {
          container,
          follow: true,
          tail,
          output: "raw",
          signal: sig,
          out: { write: (c) => send("log", typeof c === "string" ? c : dec.decode(c, { stream: true })) },
          err: { write: (c) => send("warn", stripAnsi(typeof c === "string" ? c : dec.decode(c))) },
        });
        send("end", {});
      });
    }
  }
  if (area === "forwards") {
    if (a === "events" && req.method === "GET") {
      return sse(req, signal, async (send, sig) => {
        const { forwardRows, watchForwards } = await import("../pods/live.ts");
        let pending = false;
        const push = async () => {
          if (pending) return;
          pending = true;
          await new Promise((r) => setTimeout(r, 50));
          pending = false;
          send("forwards", { items: await forwardRows() });
        };
        await push();
        await watchForwards(() => void push(), sig);
      });
    }
    if (a === undefined && req.method === "POST") {
      const body = await req.json().catch(() => ({})) as Record<string, unknown>;
      const ns = dnsName(String(body.namespace ?? ""), "namespace");
      const pod = dnsName(String(body.pod ?? ""), "pod");
      const ports = String(body.ports ?? "").split(/[\s,]+/).filter(Boolean);
      if (
        !ports.length || ports.some((p) => !/^(\d{0,5}:)?\d{1,5}$/.test(p) && !/^:?[a-z][-a-z0-9]*$/.test(p))
      ) {
        throw usageError("give ports as LOCAL:REMOTE, REMOTE or :REMOTE (e.g. 8080:80 9090)");
      }
      const { portForwardCommand } = await import("../pods/pf_cmd.ts");
      const out = memorySink();
      const args = [`pod/${pod}`, ...ports];
      // the background forward is `kodama port-forward pod/NAME PORTS -n NS`, on this UI's cluster and user
      const argv = [...kube.childFlags(), "port-forward", ...args, "-n", ns, "--detach"];
      const code = await portForwardCommand(
        kube,
        args,
        { target: { namespace: ns }, detach: true, argv },
        out,
        out,
      );
      return json({ code, text: stripAnsi(out.text()) }, code === 0 ? 200 : 502);
    }
    if (a && b === "stop" && req.method === "POST") {
      const { portForwardStopCommand } = await import("../pods/pf_cmd.ts");
      const out = memorySink();
      const code = await portForwardStopCommand([a], false, out);
      return json({ code, text: stripAnsi(out.text()) });
    }
  }
  return plain(404, "not found");
}
