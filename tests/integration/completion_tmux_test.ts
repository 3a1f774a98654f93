/**
 * Completion as a user meets it: `deno task install` (which adds kubectl_complete-kodama), a shell in tmux
 * with the completion loaded, then Tab. kubectl 1.26+ completes `kubectl kodama ex` by running
 * kubectl_complete-kodama; kodama's scripts complete `kodama …`, `kpod …` in bash, zsh and fish.
 */
import { assert } from "@kodama/test-assert";
import { DEMO } from "../cluster/harness.ts";
import { HAVE_TMUX, Tmux } from "./picker_tmux.ts";
import { clusterTest } from "../cluster/fixture.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function have(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** kubectl's bash completion needs bash-completion's helpers (as kubectl's docs say); kodama's does not. */
const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

clusterTest("completion in a shell: kubectl kodama ex<TAB>, kodama exec --pod a<TAB>, kpod, zsh, fish", {
  seed: "demo",
  ignore: !HAVE_TMUX,
}, async (t, c) => {
  const root = await Deno.makeTempDir({ prefix: "kodama-complete-install-" });
  const env = {
    PATH: `${root}/bin:${Deno.env.get("PATH")}`,
    KUBECONFIG: c.kubeconfig,
    KODAMA_HOME: `${root}/home`,
    // a loaded test machine is slower than the interactive 1 s budget
    KODAMA_COMPLETION_TIMEOUT_MS: "20000",
    TERM: "xterm",
  };
  /** A shell in tmux (its stdout back on the terminal: the helper sends it to a file, shells list there). */
  const shell = async (command: string, setup: string, prompt: RegExp) => {
    const sh = await Tmux.start(`${command} >/dev/tty`, { width: 160, height: 40, env });
    await sh.waitFor((s) => prompt.test(s), "a prompt", 60_000);
    await sh.type(`${setup}; echo loaded >&2`);
    await sh.keys("Enter");
    await sh.waitFor((s) => s.includes("\nloaded"), "the completion loaded", 60_000);
    /** Type `text`, press Tab until `done(screen)` (bash lists on a repeated Tab), then clear the line. */
    const tab = async (text: string, done: (s: string) => boolean, what: string) => {
      await sh.type(text);
      try {
        const end = Date.now() + 90_000;
        for (;;) {
          await sh.keys("Tab");
          try {
            await sh.waitFor(done, what, 8_000);
            return;
          } catch (e) {
            if (Date.now() > end) throw e;
          }
        }
      } finally {
        await sh.keys("C-u");
      }
    };
    return { sh, tab };
  };
  try {
    const inst = await new Deno.Command(Deno.execPath(), {
      args: ["task", "install"],
      cwd: ROOT,
      env: { DENO_INSTALL_ROOT: root },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(inst.success, new TextDecoder().decode(inst.stderr));
    await Deno.stat(`${root}/bin/kubectl_complete-kodama`);

    await t.step({
      name: "bash: kubectl kodama ex<TAB>, kodama exec --pod a<TAB><TAB>, kpod --namespace=pro<TAB>",
      ignore: !exists(BASH_COMPLETION),
      fn: async () => {
        const { sh, tab } = await shell(
          "env PS1='$ ' bash --norc --noprofile -i",
          `source ${BASH_COMPLETION}; source <(kubectl completion bash); source <(kodama completion bash)`,
          /\$/,
        );
        try {
          await tab(
            "kubectl kodama ex",
            (s) => /\$ kubectl kodama exec\s*$/m.test(s),
            "kubectl kodama exec",
          );
          await tab(
            "kodama exec -n prod --pod a",
            (s) =>
              /\$ kodama exec -n prod --pod api-6b7f9c8d4-$/m.test(s) &&
              DEMO.apiPods.every((p) => s.includes(p)),
            "the common prefix and both api pods",
          );
          // a word bash splits at '='
          await tab(
            "kpod --namespace=pro",
            (s) => /\$ kpod --namespace=prod\s*$/m.test(s),
            "--namespace=prod",
          );
        } finally {
          await sh.stop();
        }
      },
    });

    await t.step({
      name: "zsh: kodama ex<TAB>, the api pods with their phase",
      ignore: !have("zsh"),
      fn: async () => {
        const { sh, tab } = await shell(
          "env PS1='%% ' zsh -f",
          "autoload -U compinit; compinit -u; source <(kodama completion zsh)",
          /%/,
        );
        try {
          await tab("kodama ex", (s) => /% kodama exec\s*$/m.test(s), "kodama exec");
          await tab(
            "kodama exec -n prod --pod a",
            (s) => DEMO.apiPods.every((p) => s.includes(p)) && s.includes("Running"),
            "both api pods with their phase",
          );
        } finally {
          await sh.stop();
        }
      },
    });

    await t.step({
      name: "fish: kodama ex<TAB>, run kwekash --param <TAB>",
      ignore: !have("fish"),
      fn: async () => {
        const { sh, tab } = await shell(
          "fish --no-config -C 'function fish_prompt; echo -n \"> \"; end'",
          "kodama completion fish | source",
          />/,
        );
        try {
          await tab("kodama ex", (s) => /> kodama exec\s*$/m.test(s), "kodama exec");
          await tab(
            "kodama run kwekash --param ",
            (s) => /> kodama run kwekash --param cmd=$/m.test(s),
            "cmd=",
          );
        } finally {
          await sh.stop();
        }
      },
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
