/**
 * The OS-matrix harness's preload (#36): `deno run|test --preload tests/os_matrix/preload.ts` with
 * KODAMA_TEST_AS_OS=darwin (or windows) makes `Deno.build.os` say so before any module of kodama loads,
 * so src/base/platform.ts's hostPlatform() — and every `Deno.build.os` test — takes that OS's branch.
 *
 * It follows the process tree: every `deno run`/`deno test` this process starts (kodama re-running itself
 * for a background sync or `pf --detach`, a test's CLI subprocess, a `script -c "deno run …"` terminal)
 * gets the same preload and the same `--deny-read=/proc`, so no part of a run can lean on Linux's procfs.
 * Test-only: nothing under src/ knows about it.
 */
const os = Deno.env.get("KODAMA_TEST_AS_OS");
if (os) {
  Object.defineProperty(Deno, "build", { value: Object.freeze({ ...Deno.build, os }), configurable: true });

  const self = decodeURIComponent(new URL(import.meta.url).pathname); // test-only, Linux
  const extra = ["--preload", self, "--deny-read=/proc"];
  const deno = Deno.execPath();
  const withFlags = (args: string[]): string[] => {
    const i = args.findIndex((a) => a === "run" || a === "test");
    if (i < 0 || args.includes("--preload")) return args;
    return [...args.slice(0, i + 1), ...extra, ...args.slice(i + 1)];
  };
  const Original = Deno.Command;
  class Command extends Original {
    constructor(command: string | URL, options?: Deno.CommandOptions) {
      let args = options?.args?.map(String);
      const cmd = String(command);
      if (args && (cmd === deno || cmd === "deno")) args = withFlags(args);
      else if (args && cmd === "script") {
        // `script -qfec "'deno' 'run' …" /dev/null`: the command line is one string
        args = args.map((a) =>
          a.replaceAll(`'${deno}' 'run'`, `'${deno}' 'run' ${extra.map((x) => `'${x}'`).join(" ")}`)
            .replaceAll(`${deno} run `, `${deno} run ${extra.join(" ")} `)
        );
      }
      super(command, args ? { ...options, args } : options);
    }
  }
  Object.defineProperty(Deno, "Command", { value: Command, configurable: true, writable: true });
}
