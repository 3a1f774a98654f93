/**
 * A relay in front of the test server that passes every connection offering HTTP/2 in its TLS
 * ClientHello (Deno's own client: lists and lookups) and holds every other one silent (node:https: watches,
 * log streams, SPDY upgrades), never answering a byte: so the lookups before a stream succeed and only the
 * stream's handshake hangs (#26 robustness; silent_spdy_test.ts, silent_stream_test.ts).
 */

export interface Relay {
  port: number;
  /** connections held silent so far */
  readonly held: number;
  close(): void;
}

export function h2Relay(target: { hostname: string; port: number }): Relay {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open: Deno.Conn[] = [];
  const state = { held: 0 };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable);
    } catch { /* either side closed */ }
  };
  (async () => {
    try {
      for await (const c of l) {
        open.push(c);
        (async () => {
          const buf = new Uint8Array(16384);
          const n = await c.read(buf).catch(() => null);
          if (!n) return;
          const hello = buf.subarray(0, n);
          // the ALPN list holds the length-prefixed "h2": Deno's client; node:https offers none
          if (!new TextDecoder("latin1").decode(hello).includes("\x02h2")) {
            state.held++;
            return; // held: never answered
          }
          const up = await Deno.connect(target);
          open.push(up);
          await up.write(hello);
          await Promise.all([pipe(c, up), pipe(up, c)]);
        })();
      }
    } catch { /* closed */ }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    get held() {
      return state.held;
    },
    close() {
      l.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

/** A copy of `kubeconfig` in `dir` whose server is an h2Relay in front of the original server. */
export async function relayedKubeconfig(
  kubeconfig: string,
  dir: string,
): Promise<{ kc: string; relay: Relay }> {
  const text = await Deno.readTextFile(kubeconfig);
  const server = new URL(/server: *(\S+)/.exec(text)![1]);
  const relay = h2Relay({
    hostname: server.hostname === "localhost" ? "127.0.0.1" : server.hostname,
    port: Number(server.port),
  });
  const kc = `${dir}/kubeconfig`;
  await Deno.writeTextFile(kc, text.replace(/server: *\S+/g, `server: https://127.0.0.1:${relay.port}`));
  return { kc, relay };
}
