/** GroupSet (tests/cluster/runtime/procs.ts): dead process groups are forgotten, /proc scanned only on doubling. */
import { assert, assertEquals } from "@kodama/test-assert";
import { GroupSet, liveGroupIds } from "../../cluster/runtime/procs.ts";

Deno.test("GroupSet: scans only once the set has doubled, forgets dead groups, keeps `keep` ones", () => {
  let alive = new Set<number>();
  let scans = 0;
  const s = new GroupSet({
    min: 4,
    keep: (g) => g === 2,
    liveGroupIds: () => {
      scans++;
      return alive;
    },
  });
  for (const g of [1, 2, 3, 4]) s.add(g);
  assertEquals(scans, 0);
  assertEquals([...s.values()], [1, 2, 3, 4]);

  // the 5th add finds 4 groups (= min): one scan; 1 and 3 are dead, 2 is kept, 4 lives
  alive = new Set([4]);
  s.add(5);
  assertEquals(scans, 1);
  assertEquals([...s].sort(), [2, 4, 5]);
  assert(!s.has(1) && !s.has(3) && s.has(2) && s.has(5));

  // 2 survived the scan: the next one waits for max(min, 2 * 2) = 4 groups
  s.add(6);
  assertEquals(scans, 1);
  alive = new Set([4, 5, 6]);
  s.add(7);
  assertEquals(scans, 2);
  assertEquals([...s].sort(), [2, 4, 5, 6, 7]);

  // 4 survived: no scan until 8 groups
  for (const g of [8, 9, 10]) s.add(g);
  assertEquals(scans, 2);
  assertEquals(s.size, 8);
  alive = new Set();
  s.add(11);
  assertEquals(scans, 3);
  assertEquals([...s].sort((a, b) => a - b), [2, 11]);

  assert(s.delete(2) && !s.has(2));
  s.clear();
  assertEquals(s.size, 0);
});

Deno.test("GroupSet: by default it asks /proc; our own process group is live", () => {
  const live = liveGroupIds();
  // the test process's group and session both have a live process: this one
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const [pgrp, sid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(2, 4).map(Number);
  assert(live.has(pgrp) && live.has(sid), `${pgrp}/${sid} not in live groups`);
  const s = new GroupSet({ min: 1 });
  s.add(pgrp);
  s.add(2 ** 30); // a scan: an id no process group has is forgotten, ours is not
  s.add(2 ** 30 + 1);
  assert(s.has(pgrp) && !s.has(2 ** 30) && s.has(2 ** 30 + 1), [...s].join());
});
