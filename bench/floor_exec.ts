/**
 * The least a Deno program does for `kubectl exec POD -c C -- CMD`: start the TLS seeding before anything
 * else (src/kube/warm.ts, as kodama does), read the kubeconfig's current context (src/kube/kubeyaml.ts, nothing else),
 * GET the pod, run the command over one exec WebSocket, exit with its code. No options, no checks, no
 * messages. bench/everyday.ts runs it beside kodama and kubectl: kodama's time over this is kodama's own;
 * this over kubectl's is Deno's (its start-up and AWS-LC's seeding, bench/README.md).
 *
 *   deno run -A bench/floor_exec.ts NAMESPACE POD CONTAINER CMD...   (KUBECONFIG: one file)
 */
import { warmTls } from "../src/kube/warm.ts";
import { readSimpleYaml } from "../src/kube/kubeyaml.ts";

warmTls();

type Doc = {
  "current-context": string;
  contexts: { name: string; context: { cluster: string; user: string } }[];
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
};

const [ns, pod, container, ...command] = Deno.args;
const text = Deno.readTextFileSync(Deno.env.get("KUBECONFIG")!);
// a kubeconfig outside the fast reader's subset costs the yaml package, as it does kodama
const doc = (readSimpleYaml(text)?.value ??
  (await import("../src/kube/kubeconfig_yaml.ts")).readYaml(text)) as Doc;
const ctx = doc.contexts.find((c) => c.name === doc["current-context"])!.context;
const cluster = doc.clusters.find((c) => c.name === ctx.cluster)!.cluster;
const user = doc.users.find((u) => u.name === ctx.user)!.user;
const pem = (b64?: string) => (b64 ? atob(b64) : undefined);
const ca = pem(cluster["certificate-authority-data"]);
const cert = pem(user["client-certificate-data"]), key = pem(user["client-key-data"]);
const client = Deno.createHttpClient({
  ...(ca ? { caCerts: [ca] } : {}),
  ...(cert && key ? { cert, key } : {}),
});
const headers: Record<string, string> = user.token ? { authorization: `Bearer ${user.token}` } : {};
const base = `${cluster.server}/api/v1/namespaces/${ns}/pods/${pod}`;

const got = await fetch(base, { client, headers });
await got.body?.cancel();
if (!got.ok) Deno.exit(3);

const q = new URLSearchParams({ container, stdout: "true", stderr: "true" });
for (const c of command) q.append("command", c);
const ws = new WebSocket(`${base.replace(/^http/, "ws")}/exec?${q}`, {
  protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
  headers,
  client,
} as unknown as string[]);
ws.binaryType = "arraybuffer";
const code = await new Promise<number>((resolve) => {
  let status = 1;
  ws.onmessage = (m) => {
    const b = new Uint8Array(m.data as ArrayBuffer);
    if (b[0] === 3) status = /"Success"/.test(new TextDecoder().decode(b.subarray(1))) ? 0 : 1;
    else if (b[0] === 1) Deno.stdout.writeSync(b.subarray(1));
    else if (b[0] === 2) Deno.stderr.writeSync(b.subarray(1));
  };
  ws.onclose = () => resolve(status);
  ws.onerror = () => resolve(1);
});
Deno.exit(code);
