// `start --replace` keeps what was recorded (src/session/lifecycle/replace.ts): the recorded settings fill what no
// flag gives; a flag wins for its one setting.
import { assertEquals, assertThrows } from "@kodama/test-assert";
import { keepRecorded, keptLine } from "../../../src/session/lifecycle/replace.ts";
import type { StartOptions } from "../../../src/session/lifecycle/start.ts";
import type { SessionSpec } from "../../../src/session/spec/spec.ts";

const spec = {
  v: 1,
  name: "s",
  namespace: "dev",
  image: "img:1",
  cpu: "2",
  memory: "4Gi",
  git: { repo: "/src/app", base: "main", newBranch: "kodama/s-1", auth: "none", image: "git" },
  agent: { preset: "claude", command: ["claude"], continueArgs: [] },
} as unknown as SessionSpec;
const opts = (more: Partial<StartOptions> = {}): StartOptions => ({
  name: "s",
  namespace: "dev",
  envFiles: [],
  envExclude: [],
  replace: true,
  ...more,
});

Deno.test("replace: no flag → the recorded repo, branch, --no-sync, image, limits and agent are kept", () => {
  const { options, kept } = keepRecorded(opts(), { spec, sync: { enabled: false }, cloned: true });
  assertEquals(options.repo, "/src/app");
  assertEquals(options.baseBranch, "main");
  assertEquals(options.keepNewBranch, "kodama/s-1");
  assertEquals(options.noSync, true);
  assertEquals([options.image, options.cpu, options.memory], ["img:1", "2", "4Gi"]);
  assertEquals(options.keptAgent?.preset, "claude");
  assertEquals(
    keptLine("s", kept),
    "replacing session s: kept --repo /src/app, branch kodama/s-1, --no-sync, image img:1, --cpu 2, --memory 4Gi, agent claude (give a flag to change one)",
  );
});

Deno.test("replace: a flag wins for its own setting only; a recorded sync is kept with its mode", () => {
  const { options, kept } = keepRecorded(opts({ cpu: "8", branch: "feature" }), {
    spec,
    sync: { enabled: true, localPath: "/home/u/app", mode: "one-way-local" },
    cloned: true,
  });
  assertEquals(options.cpu, "8");
  assertEquals(options.branch, "feature");
  assertEquals(options.keepNewBranch, undefined);
  assertEquals([options.sync, options.syncMode, options.noSync], ["/home/u/app", "one-way-local", undefined]);
  assertEquals(options.memory, "4Gi");
  assertEquals(kept.includes("--cpu 2"), false);
  // --no-sync given: the recorded sync is not turned on
  assertEquals(
    keepRecorded(opts({ noSync: true }), { spec, sync: { enabled: true, localPath: "/x" } }).options.sync,
    undefined,
  );
  // no record of sync on this machine: sync is left to the flags and the config
  assertEquals(keepRecorded(opts(), { spec }).options.noSync, undefined);
});

Deno.test("replace: a session whose clone never finished does not keep its repository", () => {
  const { options, kept } = keepRecorded(opts(), { spec, cloned: false });
  assertEquals([options.repo, options.keepNewBranch], [undefined, undefined]);
  assertEquals(kept.some((k) => k.startsWith("--repo")), false);
});

Deno.test("replace: several repositories are kept as recorded once cloned; --repo with it, or no clone, refused", () => {
  // the cluster's spec names /planted: the local paths come from this machine's record only
  const repos = [
    { name: "api", git: { repo: "/planted", newBranch: "kodama/s-1", auth: "none", source: "local" } },
    { name: "docs", git: { repo: "/planted-too", auth: "none" } },
  ];
  const local = [
    { name: "api", path: "/src/api", commit: "a".repeat(40) },
    { name: "docs", path: "https://x.example/docs.git", readOnly: true, commit: "b".repeat(40) },
  ];
  const multi = { ...spec, git: undefined, repos } as unknown as SessionSpec;
  const { options, kept } = keepRecorded(opts(), { spec: multi, cloned: true, repos: local });
  assertEquals(options.keptRepos?.map((r) => [r.name, r.git.repo, r.readOnly ?? false]), [
    ["api", "/src/api", false],
    ["docs", "https://x.example/docs.git", true],
  ]);
  assertEquals(options.keptRepos?.[0].git.newBranch, "kodama/s-1");
  assertEquals(options.repo, undefined);
  assertEquals(kept.slice(0, 2), ["--repo /src/api=api", "--repo https://x.example/docs.git=docs:ro"]);
  assertThrows(
    () => keepRecorded(opts(), { spec: multi, cloned: false, repos: local }),
    "each one's clone recorded",
  );
  for (const o of [opts({ repos: ["./api", "./web"] }), opts({ repos: ["./x"] })]) {
    assertThrows(() => keepRecorded(o, { spec: multi, cloned: true, repos: local }), "give no --repo");
  }
  // no record here, or the spec names a repository this machine never started: refused, nothing kept
  for (const l of [undefined, [], local.slice(0, 1)]) {
    assertThrows(
      () => keepRecorded(opts(), { spec: multi, cloned: true, repos: l }),
      "this machine's record",
    );
  }
});
