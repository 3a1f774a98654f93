/**
 * The CI recipes of examples/ci/ run as a CI runner runs them: their `run:` scripts (GitHub Actions) or
 * `before_script` + `script` (GitLab CI) with bash, in order, with the environment the runner gives. What
 * a runner does besides is played here plainly: `${{ expr }}` is looked up in the event's table (one the table
 * lacks fails the test) and pasted into an `env:` value or, as GitHub does, into a `run:` script's text (the
 * script-injection hole a recipe must not open), `$GITHUB_ENV` and `$GITHUB_PATH` carry into the next steps,
 * a `uses:` step (the checkout) is the test's own clone, and the install step is kodama from this tree on PATH.
 */
import YAML from "yaml";
import { join } from "node:path";
import { CONFIG, MAIN } from "./_run.ts";

export interface StepRun {
  name: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** This run's Deno cache: DENO_DIR, else what `deno info` says (scripts/deno-dir.ts). */
async function denoDir(): Promise<string> {
  const d = Deno.env.get("DENO_DIR");
  if (d) return d;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "null" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/**
 * A directory with `kodama` in it: this tree's main.ts through `deno run`, as `deno task install` makes it,
 * on this run's Deno cache (the runner's HOME is another: its own cache would download every package again).
 */
export async function kodamaOnPath(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin, { recursive: true });
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(
    join(bin, "kodama"),
    `#!/bin/sh\nexport DENO_DIR=${q(await denoDir())}\n` +
      `exec ${q(Deno.execPath())} run -A --no-prompt --config ${q(CONFIG)} ${q(MAIN)} "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

async function bash(script: string, env: Record<string, string>, cwd: string, dir: string) {
  const file = join(dir, `step-${crypto.randomUUID()}.sh`);
  await Deno.writeTextFile(file, script);
  // GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`; GitLab runs its lines with -e too
  const r = await new Deno.Command("bash", {
    args: ["--noprofile", "--norc", "-eo", "pipefail", file],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** `${{ a.b.c }}` in a value, each from `table`; an unknown one throws. */
export function expand(value: unknown, table: Record<string, string>): string {
  return String(value ?? "").replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
    if (!(e in table)) throw new Error(`the test's event has no value for \${{ ${e} }}`);
    return table[e];
  });
}

// deno-lint-ignore no-explicit-any
type Doc = any;

export async function readRecipe(name: string): Promise<Doc> {
  return YAML.parse(await Deno.readTextFile(new URL(`../../examples/ci/${name}`, import.meta.url)));
}

/**
 * Run one GitHub Actions job's steps: `base` is the runner's environment (PATH, HOME, GITHUB_*, RUNNER_TEMP),
 * `table` the event's expression values, `bin` where kodama is. Stops at the first failing step unless a
 * later one is `if: always()` (as the runner does). Returns each step run.
 */
export async function runGithubJob(
  job: Doc,
  workflowEnv: Record<string, unknown>,
  o: { base: Record<string, string>; table: Record<string, string>; bin: string; cwd: string; temp: string },
): Promise<StepRun[]> {
  const envFile = join(o.temp, "github_env"), pathFile = join(o.temp, "github_path");
  let carried: Record<string, string> = {};
  let path = [o.base.PATH];
  const runs: StepRun[] = [];
  let failed = false;
  for (const step of job.steps as Doc[]) {
    if (step.uses) continue; // the checkout: the test's clone is the workspace
    if (failed && step.if !== "always()") continue;
    if (step.id === "install") {
      path = [o.bin, ...path];
      continue;
    }
    if (typeof step.run !== "string") throw new Error(`step ${step.name} has no run`);
    await Deno.writeTextFile(envFile, "");
    await Deno.writeTextFile(pathFile, "");
    const env: Record<string, string> = { ...o.base, GITHUB_ENV: envFile, GITHUB_PATH: pathFile };
    for (const [k, v] of Object.entries({ ...workflowEnv, ...job.env })) env[k] = expand(v, o.table);
    Object.assign(env, carried);
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v, o.table);
    env.PATH = path.join(":");
    // as the runner does: an expression in a script is pasted into its text before bash reads it (the
    // script-injection hole a recipe must not open)
    const r = await bash(expand(step.run, o.table), env, o.cwd, o.temp);
    runs.push({ name: step.name ?? step.id, ...r });
    if (r.code !== 0) failed = true;
    for (const line of (await Deno.readTextFile(envFile)).split("\n").filter(Boolean)) {
      const i = line.indexOf("=");
      if (i <= 0 || line.includes("<<")) throw new Error(`GITHUB_ENV line the test does not read: ${line}`);
      carried = { ...carried, [line.slice(0, i)]: line.slice(i + 1) };
    }
    path = [...(await Deno.readTextFile(pathFile)).split("\n").filter(Boolean).reverse(), ...path];
  }
  return runs;
}

/**
 * Run one GitLab CI job (its `extends` resolved one level): `before_script` and `script` in one shell, as the
 * runner does, with the file's and the job's `variables` and `base` (CI_*, the CI/CD variables); the entry
 * that installs kodama (its first line `# install kodama`) is kodama from this tree on PATH instead.
 */
export async function runGitlabJob(
  doc: Doc,
  name: string,
  o: { base: Record<string, string>; bin: string; cwd: string; temp: string },
): Promise<StepRun> {
  const job = { ...(doc[doc[name].extends] ?? {}), ...doc[name] };
  const lines: string[] = [...(job.before_script ?? []), ...(job.script ?? [])];
  const script = lines.filter((l) => !l.trimStart().startsWith("# install kodama")).join("\n");
  const env: Record<string, string> = { ...o.base };
  for (const [k, v] of Object.entries({ ...doc.variables, ...job.variables })) env[k] = String(v);
  env.PATH = `${o.bin}:${o.base.PATH}`;
  return { name, ...(await bash(script, env, o.cwd, o.temp)) };
}
