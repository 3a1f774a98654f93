/**
 * Exec credential plugins (users[].user.exec), checked against client-go's behaviour with the real kubectl
 * as the oracle where it can be: the same small plugin script runs under both tools and records what it
 * was given (KUBERNETES_EXEC_INFO), how often it ran, and whether it had a terminal.
 * - stderr reaches the user's terminal (a device-code prompt), stdout carries the ExecCredential;
 * - KUBERNETES_EXEC_INFO equals kubectl's, with provideClusterInfo (CA data or file, tls-server-name,
 *   insecure-skip-tls-verify, proxy-url, disable-compression, the exec extension as `config`);
 * - a relative command resolves against the kubeconfig's directory;
 * - a missing command prints the installHint; a failing plugin gives exit 4;
 * - credentials are cached for the process (one run for a list plus several exec streams) and the plugin
 *   runs again after a 401;
 * - interactiveMode: in tmux the plugin gets the terminal as stdin and reads a code typed there; with
 *   piped stdin or `Never` it gets none.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@kodama/test-assert";
import { KODAMA_TEST_IMAGE, KUBECTL, kubectl, onRealCluster, type TestCluster } from "../cluster/harness.ts";
import { CONFIG, hasStackTrace, MAIN, runKodama } from "../cli/_run.ts";
import { HAVE_TMUX, Tmux } from "./picker_tmux.ts";
import { startConnectProxy } from "./_connect_proxy.ts";
import { clusterTest } from "../cluster/fixture.ts";

const V1 = "client.authentication.k8s.io/v1";
const PROMPT = "To sign in, open https://login.example/device and enter the code ABCD-1234";

/** The plugin: counts its runs, keeps each KUBERNETES_EXEC_INFO, prints a device-code prompt on stderr. */
const PLUGIN = `#!/bin/sh
n=$(cat "$STATE/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$STATE/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$STATE/info.$n"
if [ -t 0 ]; then echo tty > "$STATE/stdin.$n"; else echo notty > "$STATE/stdin.$n"; fi
echo "${PROMPT}" >&2
token=$GOOD
case "$MODE" in
  bad-first) [ "$n" -eq 1 ] && token=bad-token ;;
  prompt)
    case "$KUBERNETES_EXEC_INFO" in
      *'"interactive":true'*) printf 'code: ' >&2; read code; [ "$code" = 1234 ] || token=bad-token ;;
      *) echo "no terminal to ask on" >&2; exit 7 ;;
    esac ;;
  fail) exit 3 ;;
  oldversion) printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"x"}}'; exit 0 ;;
esac
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"}}' "$API" "$token"
`;

interface Setup {
  c: TestCluster;
  dir: string;
  caB64: string;
}

/** A kubeconfig at `dir/sub/kc` whose user runs `command` with env STATE/MODE/GOOD/API. */
async function kubeconfig(
  s: Setup,
  name: string,
  o: {
    cluster?: string;
    command?: string;
    mode?: string;
    interactiveMode?: string;
    installHint?: string;
    provideClusterInfo?: boolean;
  } = {},
): Promise<{ file: string; state: string }> {
  const state = `${s.dir}/${name}-state`;
  await Deno.mkdir(state, { recursive: true });
  await Deno.mkdir(`${s.dir}/${name}`, { recursive: true });
  const file = `${s.dir}/${name}/kc`;
  const env = [
    ["STATE", state],
    ["MODE", o.mode ?? ""],
    ["GOOD", s.c.testServer!.devToken],
    ["API", V1],
  ].map(([k, v]) => `{ name: ${k}, value: "${v}" }`).join(", ");
  await Deno.writeTextFile(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { ${
      o.cluster ?? `server: "${s.c.server}", certificate-authority-data: ${s.caB64}`
    } } }]
users:
- name: u
  user:
    exec:
      apiVersion: ${V1}
      command: ${o.command ?? "../bin/plugin"}
      interactiveMode: ${o.interactiveMode ?? "IfAvailable"}
      provideClusterInfo: ${o.provideClusterInfo ?? true}
      env: [${env}]
${
      o.installHint
        ? `      installHint: ${JSON.stringify(o.installHint)}\n`
        : ""
    }contexts: [{ name: x, context: { cluster: c, user: u, namespace: dev } }]
current-context: x
`,
  );
  return { file, state };
}

const runs = async (state: string) =>
  Number((await Deno.readTextFile(`${state}/count`).catch(() => "0")).trim());
const info = async (state: string, n = 1) => JSON.parse(await Deno.readTextFile(`${state}/info.${n}`));

async function kubectlWith(file: string, args: string[], cwd = "/") {
  const out = await new Deno.Command(KUBECTL, {
    args: ["--kubeconfig", file, "--cache-dir", `${file}.cache`, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

clusterTest(
  "exec credential plugins behave as client-go runs them",
  { seed: "sessions", ignore: onRealCluster },
  async (t, c) => {
    const dir = await Deno.makeTempDir({ prefix: "kodama-execplugin-" });
    const s: Setup = { c, dir, caB64: btoa(await Deno.readTextFile(`${c.testServer!.stateDir}/pki/ca.crt`)) };
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/plugin`, PLUGIN, { mode: 0o755 });
    const proxy = await startConnectProxy();
    try {
      for (const p of ["plug-a", "plug-b"]) {
        const r = await kubectl(c, [
          "run",
          p,
          "-n",
          "dev",
          "-l",
          "app=plug",
          `--image=${KODAMA_TEST_IMAGE}`,
          "--",
          "sleep",
          "3600",
        ]);
        assertEquals(r.code, 0, r.stderr);
      }
      const ready = await kubectl(c, ["wait", "-n", "dev", "--for=condition=Ready", "pod", "-l", "app=plug"]);
      assertEquals(ready.code, 0, ready.stderr);

      const variants: [string, string][] = [
        [
          "CA data, tls-server-name and the exec extension",
          `server: "${c.server}", certificate-authority-data: ${s.caB64}, tls-server-name: localhost, extensions: [{ name: client.authentication.k8s.io/exec, extension: { audience: kodama, n: 1, nested: [a, { b: yes }] } }, { name: other, extension: { z: 1 } }]`,
        ],
        ["a CA file", `server: "${c.server}", certificate-authority: ${c.testServer!.stateDir}/pki/ca.crt`],
        [
          "insecure-skip-tls-verify and disable-compression",
          `server: "${c.server}", insecure-skip-tls-verify: true, disable-compression: true`,
        ],
        [
          "proxy-url",
          `server: "${c.server}", certificate-authority-data: ${s.caB64}, proxy-url: "${proxy.url}"`,
        ],
      ];
      for (const [i, [what, cluster]] of variants.entries()) {
        await t.step(`KUBERNETES_EXEC_INFO equals kubectl's: ${what}`, async () => {
          const k = await kubeconfig(s, `info-kubectl-${i}`, { cluster });
          const ours = await kubeconfig(s, `info-kodama-${i}`, { cluster });
          const kr = await kubectlWith(k.file, ["get", "pods", "-o", "name"]);
          assertEquals(kr.code, 0, kr.stderr);
          const r = await runKodama(["--kubeconfig", ours.file, "pods", "-o", "name"]);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(r.stdout, kr.stdout);
          assertEquals(await info(ours.state), await info(k.state));
          assertEquals((await info(ours.state)).spec.interactive, false);
        });
      }

      await t.step(
        "the plugin's stderr reaches the terminal (a device-code prompt), as kubectl's does",
        async () => {
          const k = await kubeconfig(s, "stderr");
          const kr = await kubectlWith(k.file, ["get", "pods", "-o", "name"]);
          assertStringIncludes(kr.stderr, PROMPT);
          const r = await runKodama(["--kubeconfig", k.file, "pods", "-o", "name"]);
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, PROMPT);
          assertStringIncludes(r.stdout, "pod/plug-a");
        },
      );

      await t.step(
        "a relative command resolves against the kubeconfig's directory, from any cwd",
        async () => {
          const k = await kubeconfig(s, "relative", { command: "../bin/plugin" });
          const r = await runKodama(["--kubeconfig", k.file, "pods", "-o", "name"], { cwd: "/" });
          assertEquals(r.code, 0, r.stderr);
          assertEquals((await kubectlWith(k.file, ["get", "pods", "-o", "name"], "/")).code, 0);
          // a bare name is looked up in PATH, never in the kubeconfig's directory
          const bare = await kubeconfig(s, "bare", { command: "plugin" });
          await Deno.copyFile(`${dir}/bin/plugin`, `${dir}/bare/plugin`);
          await Deno.chmod(`${dir}/bare/plugin`, 0o755);
          const rb = await runKodama(["--kubeconfig", bare.file, "pods"], { cwd: "/" });
          assertEquals(rb.code, 4, rb.stderr);
          assertMatch(rb.stderr, /exec credential plugin plugin \(user "u"\) not found/);
        },
      );

      await t.step("a missing plugin prints the installHint (exit 4), as kubectl does", async () => {
        const hint = "kodama-login is not installed: brew install kodama-login";
        const k = await kubeconfig(s, "hint", { command: "kodama-login-missing", installHint: hint });
        const kr = await kubectlWith(k.file, ["get", "pods"]);
        assertStringIncludes(kr.stderr, hint);
        const r = await runKodama(["--kubeconfig", k.file, "pods"]);
        assertEquals(r.code, 4, r.stderr);
        assertEquals(
          r.stderr,
          `error: exec credential plugin kodama-login-missing (user "u") not found\n  ${hint}\n`,
        );
      });

      await t.step("a failing plugin or a wrong apiVersion is exit 4 with one line", async () => {
        const f = await kubeconfig(s, "fail", { mode: "fail" });
        const r = await runKodama(["--kubeconfig", f.file, "pods"]);
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "failed with exit code 3");
        assertStringIncludes(r.stderr, PROMPT); // its own words come first
        const o = await kubeconfig(s, "oldversion", { mode: "oldversion" });
        const ro = await runKodama(["--kubeconfig", o.file, "pods"]);
        assertEquals(ro.code, 4, ro.stderr);
        assertStringIncludes(
          ro.stderr,
          `configured for ${V1}, but the plugin returned client.authentication.k8s.io/v1beta1`,
        );
        assert(!hasStackTrace(r.stderr + ro.stderr));
      });

      await t.step(
        "credentials are cached: one run for a list and an exec in two pods, or in one",
        async () => {
          const k = await kubeconfig(s, "cache");
          const r = await runKodama([
            "--kubeconfig",
            k.file,
            "exec",
            "-l",
            "app=plug",
            "--all",
            "--",
            "true",
          ]);
          assertEquals(r.code, 0, r.stderr);
          assertStringIncludes(r.stderr, "2 pods: 2 ok");
          assertEquals(await runs(k.state), 1);
          // one pod: the stream's credentials are worked out while the pod's GET is under way; one run still
          const one = await kubeconfig(s, "cache-one");
          const r1 = await runKodama(["--kubeconfig", one.file, "exec", "--pod", "plug-a", "--", "true"]);
          assertEquals(r1.code, 0, r1.stderr);
          assertEquals(await runs(one.state), 1);
        },
      );

      await t.step("a 401 runs the plugin again and the request succeeds", async () => {
        const k = await kubeconfig(s, "rerun", { mode: "bad-first" });
        const r = await runKodama(["--kubeconfig", k.file, "pods", "-o", "name"]);
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stdout, "pod/plug-a");
        assertEquals(await runs(k.state), 2);
      });

      await t.step("without a terminal: IfAvailable gives no stdin; Always refuses (exit 4)", async () => {
        const k = await kubeconfig(s, "notty", { mode: "prompt" });
        const r = await runKodama(["--kubeconfig", k.file, "pods"], { stdin: "" });
        assertEquals(r.code, 4, r.stderr);
        assertStringIncludes(r.stderr, "no terminal to ask on");
        assertEquals((await Deno.readTextFile(`${k.state}/stdin.1`)).trim(), "notty");
        const a = await kubeconfig(s, "always", { interactiveMode: "Always" });
        const ra = await runKodama(["--kubeconfig", a.file, "pods"], { stdin: "" });
        assertEquals(ra.code, 4, ra.stderr);
        assertStringIncludes(ra.stderr, "standard input is not one");
        assertEquals(await runs(a.state), 0);
      });

      await t.step({
        name: "in a terminal (tmux): IfAvailable hands the plugin stdin; Never does not",
        ignore: !HAVE_TMUX,
        fn: async () => {
          const k = await kubeconfig(s, "tty", { mode: "prompt" });
          const cmd =
            `${Deno.execPath()} run -A --config ${CONFIG} ${MAIN} --kubeconfig ${k.file} pods -o name`;
          const tm = await Tmux.start(cmd, { env: { NO_COLOR: "1" } });
          try {
            await tm.waitFor((sc) => sc.includes("code:"), "the plugin's prompt");
            assertStringIncludes(await tm.screen(), PROMPT);
            await tm.type("1234");
            await tm.keys("Enter");
            assertEquals(await tm.exitCode(30_000), 0, await tm.screen());
            assertStringIncludes(await tm.read("stdout"), "pod/plug-a");
            assertEquals((await Deno.readTextFile(`${k.state}/stdin.1`)).trim(), "tty");
            assertEquals((await info(k.state)).spec.interactive, true);
          } finally {
            await tm.stop();
          }
          const n = await kubeconfig(s, "never", { mode: "prompt", interactiveMode: "Never" });
          const tn = await Tmux.start(
            `${Deno.execPath()} run -A --config ${CONFIG} ${MAIN} --kubeconfig ${n.file} pods -o name`,
            { env: { NO_COLOR: "1" } },
          );
          try {
            assertEquals(await tn.exitCode(30_000), 4, await tn.screen());
            assertStringIncludes(await tn.screen(), "no terminal to ask on");
            assertEquals((await Deno.readTextFile(`${n.state}/stdin.1`)).trim(), "notty");
          } finally {
            await tn.stop();
          }
        },
      });
    } finally {
      await proxy.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
