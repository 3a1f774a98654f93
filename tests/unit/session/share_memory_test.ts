/**
 * `share`, `unshare` and the share objects `delete` removes, in-process on the in-memory cluster: what Roles
 * and RoleBindings they make, change and remove, and what they refuse. What RBAC then lets a teammate do is
 * the HTTPS server's and a real cluster's to say (tests/cli/session_share_test.ts).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@kodama/test-assert";
import {
  deleteShares,
  listShares,
  shareObjectName,
  shareSession,
  type Subject,
  unshareSession,
} from "../../../src/session/access/share.ts";
import { LABEL_MANAGED_BY, LABEL_SESSION } from "../../../src/session/spec/names.ts";
import { ExitCode, KodamaError } from "../../../src/base/errors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { MemCluster } from "../../cluster/memcluster.ts";
import { home, session } from "../../_session_memory.ts";
import { envTest } from "../../_env_lock.ts";

const alice: Subject = { kind: "User", name: "alice" };
const reviewers: Subject = { kind: "Group", name: "reviewers" };
const io = () => ({ out: memorySink(), err: memorySink() });

interface Rule {
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Role = { metadata: { name: string; labels?: Record<string, string> }; rules: Rule[] };
type Binding = { subjects: { kind: string; name: string }[]; roleRef: { name: string } };

const shareNames = async (mem: MemCluster, resource: "roles" | "rolebindings") =>
  (await mem.listObjects<Role>(resource, mem.namespace, { labelSelector: `${LABEL_SESSION}=s` })).items
    .map((o) => o.metadata.name).sort();

envTest(
  "share (in memory): a Role limited to the session's objects by name and its binding; listed",
  async () => {
    using mem = new MemCluster();
    const { pod } = await session(mem, "s");
    const o = io();
    assertEquals(await shareSession(mem, mem.namespace, "s", alice, o), ExitCode.OK);
    assertStringIncludes(
      o.out.text(),
      "session/s shared with user alice: attach, exec, port-forward, logs\n",
    );
    const name = shareObjectName("s", alice);
    const role = await mem.getObject<Role>("roles", mem.namespace, name);
    assertEquals(role.metadata.labels?.[LABEL_MANAGED_BY], "kodama");
    for (const r of role.rules) assert(r.resourceNames?.length, `a rule without names: ${JSON.stringify(r)}`);
    assert(!JSON.stringify(role.rules).includes("secrets"), "no Secret is granted");
    assert(
      role.rules.some((r) => r.resources.includes("pods") && r.resourceNames!.includes(pod.metadata!.name!)),
      "the session's pod, by its name",
    );
    const binding = await mem.getObject<Binding>("rolebindings", mem.namespace, name);
    assertEquals(binding.subjects.map((s) => [s.kind, s.name]), [["User", "alice"]]);
    assertEquals(binding.roleRef.name, name);
    const shares = await listShares(mem, mem.namespace, "s");
    assertEquals(shares.map((s) => [s.subject.name, s.access, s.role]), [["alice", "full", name]]);
    // again, read-only: the same objects, changed; no second pair
    const again = io();
    await shareSession(mem, mem.namespace, "s", alice, { ...again, readOnly: true });
    assertStringIncludes(again.out.text(), "read-only (get, logs) (updated)");
    assertEquals(await shareNames(mem, "roles"), [name]);
    const ro = await mem.getObject<Role>("roles", mem.namespace, name);
    assert(!ro.rules.some((r) => r.resources.includes("pods/exec")), "read-only grants no exec");
    assertEquals((await listShares(mem, mem.namespace, "s"))[0].access, "read-only");
  },
  home(),
);

envTest(
  "share (in memory): a Role of that name kodama did not make is refused and left alone (exit 1)",
  async () => {
    using mem = new MemCluster();
    await session(mem, "s");
    const name = shareObjectName("s", alice);
    // someone else's Role under the name the share would take (labelled as the session's, not as kodama's)
    await mem.createObject("roles", mem.namespace, {
      metadata: { name, labels: { [LABEL_SESSION]: "s" } },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    });
    const e = await assertRejects(() => shareSession(mem, mem.namespace, "s", alice, io()));
    assert(e instanceof KodamaError);
    assertEquals(e.code, ExitCode.FAILED);
    assertStringIncludes(
      e.message,
      `role ${name} exists in namespace ${mem.namespace} and kodama did not make it`,
    );
    const kept = await mem.getObject<Role>("roles", mem.namespace, name);
    assertEquals(kept.rules.map((r) => r.resources), [["configmaps"]]);
    assertEquals(await shareNames(mem, "rolebindings"), [], "no binding to a Role it does not own");
  },
  home(),
);

envTest("unshare (in memory): one subject's pair goes, the other stays; not shared is exit 3", async () => {
  using mem = new MemCluster();
  await session(mem, "s");
  await shareSession(mem, mem.namespace, "s", alice, io());
  await shareSession(mem, mem.namespace, "s", reviewers, { ...io(), readOnly: true });
  assertEquals((await shareNames(mem, "rolebindings")).length, 2);
  const o = io();
  assertEquals(await unshareSession(mem, mem.namespace, "s", alice, o), ExitCode.OK);
  assertEquals(o.out.text(), "session/s unshared from user alice\n");
  assertEquals(await shareNames(mem, "roles"), [shareObjectName("s", reviewers)]);
  assertEquals(await shareNames(mem, "rolebindings"), [shareObjectName("s", reviewers)]);
  const e = await assertRejects(() => unshareSession(mem, mem.namespace, "s", alice, io()));
  assert(e instanceof KodamaError);
  assertEquals(e.code, ExitCode.NOT_FOUND);
  assertStringIncludes(e.message, "session s is not shared with user alice");
  // --all on a session with no share left says so; on a session that does not exist, exit 3
  await unshareSession(mem, mem.namespace, "s", "all", io());
  const none = io();
  assertEquals(await unshareSession(mem, mem.namespace, "s", "all", none), ExitCode.OK);
  assertEquals(none.err.text(), "session/s is not shared\n");
  const missing = await assertRejects(() => unshareSession(mem, mem.namespace, "nope", "all", io()));
  assert(missing instanceof KodamaError);
  assertEquals(missing.code, ExitCode.NOT_FOUND);
}, home());

envTest("delete's share cleanup (in memory): every binding and Role of the session, named", async () => {
  using mem = new MemCluster();
  await session(mem, "s");
  await session(mem, "other");
  await shareSession(mem, mem.namespace, "s", alice, io());
  await shareSession(mem, mem.namespace, "s", reviewers, { ...io(), readOnly: true });
  await shareSession(mem, mem.namespace, "other", alice, io());
  const gone = await deleteShares(mem, mem.namespace, "s");
  const [a, r] = [shareObjectName("s", alice), shareObjectName("s", reviewers)].sort();
  assertEquals(gone.sort(), [`role/${a}`, `role/${r}`, `rolebinding/${a}`, `rolebinding/${r}`].sort());
  assertEquals(await shareNames(mem, "roles"), []);
  assertEquals(await shareNames(mem, "rolebindings"), []);
  assertEquals((await listShares(mem, mem.namespace, "other")).length, 1, "another session's share stays");
  assertEquals(await deleteShares(mem, mem.namespace, "s"), [], "nothing left: nothing named");
}, home());
