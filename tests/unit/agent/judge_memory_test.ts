/**
 * The judgement's doors in-process, on the in-memory cluster (tests/_session_memory.ts): `session pr GROUP`
 * and `adopt GROUP --best` resolve a group's name to its judge's rank 1 (judgecmd.ts), a session's name stays
 * itself, a group without a judgement is exit 3 saying how to make one, a stored judgement naming another
 * group's replica is not taken, and `delete GROUP --group` removes the judgement with the group. The judge
 * itself runs black-box in tests/cli/session_judge_test.ts.
 */
import { assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { adoptBestName, prSession } from "../../../src/agent/group/judgecmd.ts";
import { judgementName, loadJudgement, saveJudgement } from "../../../src/agent/group/judgestore.ts";
import { deleteGroup } from "../../../src/agent/group/group.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { envTest } from "../../_env_lock.ts";
import { home, session } from "../../_session_memory.ts";

const quiet = { write: () => {} };
const judgement = (ranking: { replica: string; reason: string }[]) => ({
  group: "g",
  at: "2026-11-29T09:00:00Z",
  judge: { session: "g-judge", preset: "codex", run: "1" },
  ranking,
  unranked: [],
});

envTest(
  "judgement doors: session pr GROUP and adopt GROUP --best take rank 1; a session stays itself",
  async () => {
    using mem = new MemCluster();
    await session(mem, "g-1", { name: "g", replica: 1 });
    await session(mem, "g-2", { name: "g", replica: 2 });
    await session(mem, "solo");
    // no judgement yet: exit 3, saying how to make one
    const none = await assertRejects(() => prSession(mem, "g", quiet));
    assertEquals(none instanceof KodamaError && none.code, 3);
    assertMatch(none.message, /group g has no judgement: run compare g --judge PRESET first/);
    await saveJudgement(
      mem,
      mem.namespace,
      judgement([{ replica: "g-2", reason: "a" }, { replica: "g-1", reason: "b" }]),
    );
    const said: string[] = [];
    assertEquals(await prSession(mem, "g", { write: (s) => void said.push(String(s)) }), "g-2");
    assertMatch(said.join(""), /group g: the judge ranked g-2 first/);
    assertEquals(await prSession(mem, "g-1", quiet), "g-1");
    assertEquals(await prSession(mem, "solo", quiet), "solo");
    assertEquals(await adoptBestName(mem, mem.namespace, "g", quiet), "g-2");
    // a ConfigMap rewritten to name another group's session (or a look-alike) is not a judgement
    for (const bad of ["solo", "g-2 ", "h-1"]) {
      await saveJudgement(mem, mem.namespace, judgement([{ replica: bad, reason: "x" }]));
      assertEquals(await loadJudgement(mem, mem.namespace, "g"), undefined, bad);
      const e = await assertRejects(() => adoptBestName(mem, mem.namespace, "g", quiet));
      assertEquals(e instanceof KodamaError && e.code, 3, bad);
    }
    // the whole group deleted: its judgement with it (a new group of the name starts unjudged)
    await saveJudgement(
      mem,
      mem.namespace,
      judgement([{ replica: "g-1", reason: "a" }, { replica: "g-2", reason: "b" }]),
    );
    const code = await deleteGroup(mem as never, mem.namespace, "g", {
      force: true,
      keep: [],
      interactive: false,
      confirm: () => Promise.resolve(true),
      out: quiet,
      err: quiet,
    });
    assertEquals(code, 0);
    assertEquals(await mem.findObject("configmaps", mem.namespace, judgementName("g")), undefined);
  },
  home(),
);
