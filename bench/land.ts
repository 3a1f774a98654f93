/**
 * Several repositories (issue 81): `kodama session land` of a session with three repositories (fetch and land
 * of each, all or none) against three `session land`s of three single-repository sessions, the same commits
 * in the same run, rounds interleaved. Medians and the ratio of the one land of three to the sum of the three.
 *
 *   deno run -A bench/land.ts [--runs 5] [--files 200]
 *
 * On the test server (the demo world, image busybox:1.36): each round the pod commits one change in each
 * repository (a merge every other round: a local commit first), then both sides land it.
 * Target: the land of three within 1.3x of the three single lands.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { kubectl, startCluster, type TestCluster } from "../tests/cluster/harness.ts";
import { benchLine, type BenchResult, median, sessionPod, smokeFlag } from "./_util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GIT_ENV = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "b",
  GIT_AUTHOR_EMAIL: "b@x",
  GIT_COMMITTER_NAME: "b",
  GIT_COMMITTER_EMAIL: "b@x",
};

async function git(cwd: string, ...args: string[]): Promise<void> {
  const r = await new Deno.Command("git", { args, cwd, env: GIT_ENV, stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** A repository of `files` small files under `dir`, one commit. */
async function repo(dir: string, files: number): Promise<void> {
  await Deno.mkdir(join(dir, "src"), { recursive: true });
  await git(dir, "init", "-q", "-b", "main");
  for (let i = 0; i < files; i++) await Deno.writeTextFile(join(dir, "src", `f${i}.txt`), `file ${i}\n`);
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "init");
}

class World {
  home = Deno.makeTempDirSync({ prefix: "kodama-bench-land-home-" });
  cwd = Deno.makeTempDirSync({ prefix: "kodama-bench-land-" });
  env: Record<string, string>;
  constructor(readonly c: TestCluster) {
    this.env = { ...Deno.env.toObject(), ...GIT_ENV, KODAMA_HOME: this.home, NO_COLOR: "1" };
  }
  /** `kodama ARGS` in `cwd`; its wall time in ms */
  async k(args: string[], cwd = this.cwd): Promise<number> {
    const t0 = performance.now();
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--config",
        join(ROOT, "deno.json"),
        join(ROOT, "main.ts"),
        "--kubeconfig",
        this.c.kubeconfig,
        "--context",
        "dev",
        "-n",
        "dev",
        ...args,
      ],
      cwd,
      env: this.env,
      stdout: "null",
      stderr: "piped",
    }).output();
    const dt = performance.now() - t0;
    if (!r.success) throw new Error(`kodama ${args.join(" ")}: ${new TextDecoder().decode(r.stderr).trim()}`);
    return dt;
  }
  /** a commit in the pod of session `name`, in directory `dir` of its workspace */
  async podCommit(name: string, dir: string, round: number): Promise<void> {
    const k = ["--kubeconfig", this.c.kubeconfig, "--context", "dev", "-n", "dev"];
    const pod = await sessionPod(["kubectl", ...k], name);
    const r = await kubectl(this.c, [
      "-n",
      "dev",
      "exec",
      pod,
      "--",
      "sh",
      "-c",
      `cd /workspace/${dir} && echo "pod ${round}" >> src/f0.txt && git -c user.name=a -c user.email=a@p commit -qam "pod ${round}"`,
    ], { context: "dev" });
    if (r.code !== 0) throw new Error(`the pod's commit in ${name}/${dir}: ${r.stderr}`);
  }
}

export async function benchLand(runs = 5, files = 200): Promise<BenchResult> {
  const c = await startCluster({ seed: "demo" });
  const w = new World(c);
  const names = ["r1", "r2", "r3"];
  try {
    for (const n of names) {
      await repo(join(w.cwd, "multi", n), files);
      await repo(join(w.cwd, "single", n), files);
    }
    const image = ["--image", "busybox:1.36", "--no-sync"];
    await w.k(["start", "mr", ...names.flatMap((n) => ["--repo", `./multi/${n}`]), ...image]);
    for (const n of names) await w.k(["start", `s${n}`, "--repo", ".", ...image], join(w.cwd, "single", n));
    const multi: number[] = [], single: number[] = [];
    for (let round = 1; round <= runs; round++) {
      const merge = round % 2 === 0;
      for (const n of names) {
        await w.podCommit("mr", n, round);
        await w.podCommit(`s${n}`, "", round);
        if (merge) {
          for (const side of ["multi", "single"]) {
            const d = join(w.cwd, side, n);
            await Deno.writeTextFile(join(d, "src", `f1.txt`), `local ${round}\n`);
            await git(d, "commit", "-qam", `local ${round}`);
          }
        }
      }
      // interleaved: which side goes first alternates
      const one = () => w.k(["session", "land", "mr"]);
      const three = async () => {
        let t = 0;
        for (const n of names) t += await w.k(["session", "land", `s${n}`], join(w.cwd, "single", n));
        return t;
      };
      if (round % 2) {
        multi.push(await one());
        single.push(await three());
      } else {
        single.push(await three());
        multi.push(await one());
      }
    }
    const m = median(multi), s = median(single);
    const ratio = m / s;
    return {
      name: "land",
      lines: [
        `land of 3 repositories (one session): ${m.toFixed(0)} ms median of ${runs}`,
        `3 single-repository lands:           ${s.toFixed(0)} ms median of ${runs}`,
        `ratio ${ratio.toFixed(2)}x (target <= 1.3x)`,
      ],
      figures: { multiMs: m, singleMs: s, ratio },
      bounds: { ratio: [0.05, 20] },
    };
  } finally {
    for (const n of ["mr", ...names.map((n) => `s${n}`)]) {
      await w.k(["delete", n, "--force", "--purge"]).catch(() => 0);
    }
    await c.stop();
    await Deno.remove(w.home, { recursive: true }).catch(() => {});
    await Deno.remove(w.cwd, { recursive: true }).catch(() => {});
  }
}

/** The smoke run (tests/integration/bench_smoke_test.ts): two rounds (a fast-forward and a merge), few files. */
export const benchLandSmoke = () => benchLand(2, 20);

if (import.meta.main) {
  const args = Deno.args;
  const at = (f: string) => (args.indexOf(f) >= 0 ? args[args.indexOf(f) + 1] : undefined);
  const r = smokeFlag()
    ? await benchLandSmoke()
    : await benchLand(Number(at("--runs") ?? 5), Number(at("--files") ?? 200));
  console.log(`# ${r.name}\n${r.lines.join("\n")}\n${benchLine(r, smokeFlag())}`);
  Deno.exit(0);
}
