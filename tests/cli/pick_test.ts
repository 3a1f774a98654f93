/**
 * `kodama pick` without a terminal (black-box): --select-1, --exit-0, the exit-2 "choice needed" error,
 * -A's anchored terms on the pod name, and --filter (fzf's order, checked against the fzf binary; exit 1).
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { hasStackTrace, runKodama } from "./_run.ts";
import { clusterTest } from "../cluster/fixture.ts";

const NS = "weka-operator-system";

clusterTest("kodama pick without a terminal", { seed: "demo" }, async (t, c) => {
  const kc = ["--kubeconfig", c.kubeconfig];
  await t.step("--select-1 with a query matching one pod prints it without opening", async () => {
    const r = await runKodama([...kc, "pick", "-n", NS, "--query", "drive-2", "--select-1"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `${NS}/weka-drive-2\n`);
    assertEquals(r.stderr, "");
  });

  await t.step("-A matches namespace/name with fzf syntax", async () => {
    const r = await runKodama([...kc, "pick", "-A", "--query", "^prod/ web", "--select-1"]);
    assertEquals(r.code, 0, r.stderr);
    assert(/^prod\/web-[a-z0-9-]+\n$/.test(r.stdout), r.stdout);
  });

  await t.step(
    "several matches and no terminal: exit 2 listing candidates and the deciding flags",
    async () => {
      const r = await runKodama([...kc, "pick", "-n", NS, "--query", "drive", "--select-1"]);
      assertEquals(r.code, 2);
      assertEquals(r.stdout, "");
      assertStringIncludes(
        r.stderr,
        `3 pods match "drive" and a choice is needed: weka-drive-0, weka-drive-1, weka-drive-2`,
      );
      assertStringIncludes(r.stderr, "no terminal to pick on");
      assertStringIncludes(r.stderr, "--select-1");
      assert(!hasStackTrace(r.stderr), r.stderr);
    },
  );

  await t.step("KODAMA_NO_PICKER=1 says the picker is disabled", async () => {
    const r = await runKodama([...kc, "pick", "-n", "prod"], { env: { KODAMA_NO_PICKER: "1" } });
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "3 pods match and a choice is needed");
    assertStringIncludes(r.stderr, "KODAMA_NO_PICKER");
  });

  await t.step("--exit-0: nothing matches the query -> exit 3 at once", async () => {
    const r = await runKodama([...kc, "pick", "-n", NS, "--query", "nomatch", "--exit-0"]);
    assertEquals(r.code, 3);
    assertStringIncludes(r.stderr, `no pod matches "nomatch"`);
  });

  await t.step(
    "no terminal and a query matching nothing -> exit 3, not a choice among 0 pods",
    async () => {
      const r = await runKodama([...kc, "pick", "-n", NS, "--query", "nomatch"]);
      assertEquals(r.code, 3);
      assertStringIncludes(r.stderr, `no pod matches "nomatch"`);
      assert(!r.stderr.includes("choice is needed"), r.stderr);
    },
  );

  await t.step("nothing matched by the targeting flags -> exit 3 naming the target", async () => {
    const r = await runKodama([...kc, "pick", "-n", NS, "-m", "nothing-like-this"]);
    assertEquals(r.code, 3);
    assertStringIncludes(r.stderr, "no pods matched");
    assertStringIncludes(r.stderr, `name contains "nothing-like-this"`);
  });

  await t.step(
    "-A: anchored terms match the pod name, so '^api | ^web' finds them everywhere",
    async () => {
      const all = await runKodama([...kc, "pick", "-A", "--filter", ""]);
      assertEquals(all.code, 0, all.stderr);
      const lines = all.stdout.trim().split("\n");
      const want = lines.filter((l) => /^[^/]+\/(api|web)/.test(l));
      assert(want.length >= 3, all.stdout); // the demo's two api pods and its web pod (in prod)
      const r = await runKodama([...kc, "pick", "-A", "--filter", "^api | ^web"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n").sort(), want.sort());
      // the picker's initial query is matched the same way
      const one = await runKodama([
        ...kc,
        "pick",
        "-A",
        "--query",
        `^${want[0].split("/")[1]}$`,
        "--select-1",
      ]);
      assertEquals(one.code, 0, one.stderr);
      assertEquals(one.stdout, want[0] + "\n");
    },
  );

  await t.step("--filter prints the matches in fzf's order, without a terminal", async () => {
    const all = await runKodama([...kc, "pick", "-A", "-f", ""]);
    assertEquals(all.code, 0, all.stderr);
    const fzf = async (q: string) => {
      const child = new Deno.Command("fzf", { args: ["--filter", q], stdin: "piped", stdout: "piped" })
        .spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(all.stdout));
      await w.close();
      return new TextDecoder().decode((await child.output()).stdout);
    };
    const haveFzf = await new Deno.Command("fzf", { args: ["--version"], stdout: "null" }).output().then(
      (o) => o.success,
      () => false,
    );
    for (const q of ["a", "drv", "'prod/ | weka", "-0$ !compute", "wk dr"]) {
      const r = await runKodama([...kc, "pick", "-A", "--filter", q]);
      assertEquals(r.code, 0, `${q}: ${r.stderr}`);
      assertEquals(r.stderr, "");
      if (haveFzf) assertEquals(r.stdout, await fzf(q), q);
      else assert(r.stdout.length > 0);
    }
    const names = await runKodama([...kc, "pick", "-n", NS, "-f", "drive", "-o", "name"]);
    assertEquals(names.stdout, "weka-drive-0\nweka-drive-1\nweka-drive-2\n");
  });

  await t.step("--filter: nothing matches -> exit 1 and no output, as fzf", async () => {
    const r = await runKodama([...kc, "pick", "-A", "--filter", "nothing-like-this"]);
    assertEquals([r.code, r.stdout, r.stderr], [1, "", ""]);
    const json = await runKodama([...kc, "pick", "-A", "-f", "nothing-like-this", "-o", "json"]);
    assertEquals(json.code, 1);
  });

  await t.step("--filter with --query is a usage error", async () => {
    const r = await runKodama([...kc, "pick", "-A", "--filter", "a", "--query", "b"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "--filter does not open a picker");
    assert(!hasStackTrace(r.stderr), r.stderr);
  });

  await t.step("a single candidate needs no choice: printed even without a terminal", async () => {
    const r = await runKodama([...kc, "pick", "-n", NS, "--pod", "weka-compute-0"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, `${NS}/weka-compute-0\n`);
  });
});
