/**
 * `deno task demo`: start the kodama Kubernetes API *test server* with the demo world and print
 * what to try from another terminal. Ctrl-C stops it (and every pod process).
 */
import { DEMO_LOAD_PODS, parseClusterArgs, runCluster } from "./main.ts";

const opts = parseClusterArgs(Deno.args, { pods: DEMO_LOAD_PODS });
const useColor = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
const b = (s: string) => (useColor ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (useColor ? `\x1b[2m${s}\x1b[0m` : s);

await runCluster(opts, (s) => {
  const kc = s.kubeconfig;
  console.log(`
${b("kodama demo")} — the kodama Kubernetes API test server is running at ${s.server}
${dim("This is a local test server for kodama's tests and demos, not a cluster for real workloads:")}
${dim("pods are local processes on this machine, and everything disappears when you stop it.")}
${dim("Inside a pod, absolute paths other than its own volumes (/tmp, /etc, /var, …) are this machine's:")}
${dim("writing there writes your own files. Shell prompts in demo pods show the pod's name.")}

Try, from another terminal in the repository root:

  ${b(`export KUBECONFIG=${kc}`)}
  ${b("deno run -A main.ts pods -A")}                                         ${dim("# every demo pod")}
  ${b("deno run -A main.ts exec -n weka-operator-system -m drive-1 -- weka version")}
  ${b("deno run -A main.ts run kwekash")}                                     ${dim("# a built-in workflow")}

kubectl works too (${dim("kubectl get pods -A -o wide")}; context ${b("dev")} may only use namespace dev).
Press Ctrl-C to stop.`);
});
Deno.exit(0);
