/**
 * The pod is the sandbox (src/session/spec/sandbox.ts): the pure builders. Every container kodama makes drops
 * its capabilities and cannot escalate; the pod runs under RuntimeDefault seccomp with no ServiceAccount
 * token; a non-root user gets no capabilities at all; the egress NetworkPolicy allows DNS and everything
 * but link-local and the denied ranges (or only the allowed ones), in a shape the API server accepts.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { configSchema } from "../../../src/config/schema.ts";
import { buildPod, buildSession, redactedList } from "../../../src/session/spec/manifests.ts";
import { resolveSpec } from "../../../src/session/spec/spec.ts";
import { buildBinderPod } from "../../../src/session/volumes/pool.ts";
import { buildCopyPod } from "../../../src/session/volumes/snapshot.ts";
import { ROOT_CAPABILITIES } from "../../../src/session/spec/sandbox.ts";
import { ExitCode, type KodamaError } from "../../../src/base/errors.ts";
import { formatCidr, parseCidr, strictlyWithin } from "../../../src/base/cidr.ts";

const now = new Date("2026-01-15T14:30:00Z");

function spec(config: Record<string, unknown> = {}, flags: Record<string, unknown> = {}) {
  return resolveSpec({ name: "demo", namespace: "dev", ...flags }, configSchema.parse(config), {
    envVars: [],
    editorFiles: [],
    now,
  });
}

const withGit = (s: ReturnType<typeof spec>) => ({
  ...s,
  git: {
    repo: "https://example.com/a.git",
    source: "remote",
    image: s.image,
    authMethod: "none",
    autoBranch: false,
  } as unknown as NonNullable<ReturnType<typeof spec>["git"]>,
  sidecars: [{ name: "db", image: "postgres:16" }],
});

Deno.test("sandbox: by default no token, RuntimeDefault seccomp, and every container locked down as root", () => {
  const pod = buildPod(withGit(spec())).spec!;
  assertEquals(pod.automountServiceAccountToken, false);
  assertEquals(pod.securityContext?.seccompProfile, { type: "RuntimeDefault" });
  const all = [...pod.initContainers!, ...pod.containers];
  assertEquals(all.map((c) => c.name), ["git-clone", "session", "db"]);
  for (const c of all) {
    assertEquals(c.securityContext?.allowPrivilegeEscalation, false, c.name);
    assertEquals(c.securityContext?.capabilities?.drop, ["ALL"], c.name);
    // what a root user needs for git, npm, apt and tar; never raw sockets, device nodes or file caps
    assertEquals(c.securityContext?.capabilities?.add, ROOT_CAPABILITIES, c.name);
    for (const risky of ["NET_RAW", "MKNOD", "SETFCAP", "SYS_ADMIN", "SYS_CHROOT", "NET_ADMIN"]) {
      assert(!c.securityContext?.capabilities?.add?.includes(risky), `${c.name} keeps ${risky}`);
    }
    assertEquals(c.securityContext?.runAsUser, undefined, c.name);
  }
});

Deno.test("sandbox: runAsUser applies to the session and clone containers, with no capabilities", () => {
  const pod = buildPod(withGit(spec({ session: { runAsUser: 1000 } }))).spec!;
  const [clone, session, db] = [pod.initContainers![0], pod.containers[0], pod.containers[1]];
  for (const c of [clone, session]) {
    assertEquals(c.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      runAsUser: 1000,
      runAsNonRoot: true,
    }, c.name);
  }
  // a sidecar's image has its own user (postgres switches to its own): not forced
  assertEquals(db.securityContext?.runAsUser, undefined);
  // a flag (a template's runAsUser) wins over the config; 0 is root, stated, with the root set
  assertEquals(
    buildPod(spec({ session: { runAsUser: 1000 } }, { runAsUser: 1001 })).spec!.containers[0]
      .securityContext?.runAsUser,
    1001,
  );
  const root = buildPod(spec({ session: { runAsUser: 0 } })).spec!.containers[0].securityContext!;
  assertEquals([root.runAsUser, root.runAsNonRoot, root.capabilities?.add], [
    0,
    undefined,
    ROOT_CAPABILITIES,
  ]);
});

Deno.test("sandbox: a token only when asked (config, or --mount-sa-token), never for --service-account alone", () => {
  assertEquals(
    buildPod(spec({ defaults: { serviceAccount: "agent" } })).spec!.automountServiceAccountToken,
    false,
  );
  const cfg = buildPod(spec({ session: { serviceAccountToken: true } })).spec!;
  assertEquals(cfg.automountServiceAccountToken, true);
  const flag = buildPod(spec({}, { serviceAccount: "builder" })).spec!;
  assertEquals([flag.serviceAccountName, flag.automountServiceAccountToken], ["builder", false]);
  const asked = buildPod(spec({}, { serviceAccount: "builder", mountSaToken: true })).spec!;
  assertEquals([asked.serviceAccountName, asked.automountServiceAccountToken], ["builder", true]);
  const e = assertThrows(() => spec({}, { serviceAccount: "Not_A_Name" })) as KodamaError;
  assertEquals(e.code, ExitCode.USAGE);
});

Deno.test("sandbox: the pool's binder pod and the snapshot copy pod are locked down too", () => {
  const bind = buildBinderPod("dev", "p1", "busybox").spec!;
  assertEquals(bind.automountServiceAccountToken, false);
  assertEquals(bind.securityContext?.seccompProfile, { type: "RuntimeDefault" });
  assertEquals(bind.containers[0].securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    runAsNonRoot: true,
    runAsUser: 65534,
  });
  const copy = buildCopyPod(spec(), { name: "kodama-copy-demo", write: false, labels: {} }).spec!;
  assertEquals(copy.automountServiceAccountToken, false);
  assertEquals(copy.securityContext?.seccompProfile, { type: "RuntimeDefault" });
  assertEquals(copy.containers[0].securityContext?.allowPrivilegeEscalation, false);
  assertEquals(copy.containers[0].securityContext?.capabilities?.drop, ["ALL"]);
});

type Policy = {
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    egress: {
      ports?: { protocol: string; port: number }[];
      to?: { ipBlock: { cidr: string; except?: string[] } }[];
    }[];
  };
};

const policyOf = (s: ReturnType<typeof spec>) =>
  buildSession(s, { env: {}, editor: {} }).networkPolicy as unknown as Policy | undefined;

Deno.test("egress policy: DNS, and everywhere but link-local (metadata) and the denied ranges", () => {
  const p = policyOf(
    spec({ session: { egress: { deny: ["10.244.0.0/16", "10.96.0.5/12", "fd00:10::/64"] } } }),
  )!;
  assertEquals(p.metadata.name, "kodama-egress-demo");
  assertEquals(p.metadata.labels["app.kubernetes.io/managed-by"], "kodama");
  assertEquals(p.metadata.labels["kodama.dev/session"], "demo");
  assertEquals(p.spec.podSelector.matchLabels, {
    "app.kubernetes.io/managed-by": "kodama",
    "kodama.dev/session": "demo",
  });
  assertEquals(p.spec.policyTypes, ["Egress"]);
  assertEquals(p.spec.egress[0], { ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] });
  assertEquals(p.spec.egress[1].to, [
    // a range is written as its network (10.96.0.5/12 is 10.96.0.0/12), each family in its own block
    {
      ipBlock: {
        cidr: "0.0.0.0/0",
        except: ["169.254.0.0/16", "100.100.100.200/32", "168.63.129.16/32", "10.244.0.0/16", "10.96.0.0/12"],
      },
    },
    {
      ipBlock: {
        cidr: "::/0",
        except: ["fe80::/10", "fd00:ec2::254/128", "fd00:ec2::23/128", "fd00:10::/64"],
      },
    },
  ]);
});

Deno.test("egress policy: allow narrows to its ranges, the denied ones inside them still excepted", () => {
  const p = policyOf(
    spec({ session: { egress: { allow: ["10.0.0.0/8", "192.168.1.0/24"], deny: ["10.244.0.0/16"] } } }),
  )!;
  assertEquals(p.spec.egress[1].to, [
    { ipBlock: { cidr: "10.0.0.0/8", except: ["10.244.0.0/16"] } },
    { ipBlock: { cidr: "192.168.1.0/24" } },
  ]);
  // allow: [] is DNS only
  assertEquals(policyOf(spec({ session: { egress: { allow: [] } } }))!.spec.egress.length, 1);
  // no policy at all when turned off; the settings record it, so resume and delete know
  const off = spec({ session: { egress: { enabled: false } } });
  assertEquals(policyOf(off), undefined);
  assertEquals(off.sandbox?.egress, undefined);
  assert(!redactedList(buildSession(off, { env: {}, editor: {} })).some((o) => o.kind === "NetworkPolicy"));
});

Deno.test("egress policy: every except is a strict subset of its cidr (what the API server demands)", () => {
  const cases = [
    { deny: ["10.0.0.0/8", "10.1.0.0/16", "172.16.0.0/12", "2001:db8::/32"] },
    { allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.0.0.0/16", "192.168.0.0/16", "2001:db8:1::/48"] },
    { allow: ["0.0.0.0/1", "128.0.0.0/1"] },
  ];
  for (const egress of cases) {
    const p = policyOf(spec({ session: { egress } }))!;
    for (const { ipBlock } of p.spec.egress[1]?.to ?? []) {
      for (const x of ipBlock.except ?? []) {
        assert(strictlyWithin(parseCidr(x)!, parseCidr(ipBlock.cidr)!), `${x} not inside ${ipBlock.cidr}`);
      }
    }
  }
  // 169.254/16 and Azure's wireserver lie in 128.0.0.0/1, Alibaba's metadata in 0.0.0.0/1: still excepted
  const halves = policyOf(spec({ session: { egress: { allow: ["0.0.0.0/1", "128.0.0.0/1"] } } }))!;
  assertEquals(halves.spec.egress[1].to![0].ipBlock.except, ["100.100.100.200/32"]);
  assertEquals(halves.spec.egress[1].to![1].ipBlock.except, ["169.254.0.0/16", "168.63.129.16/32"]);
});

Deno.test("egress settings: a bad CIDR, an allowed range inside a denied one, deny-all: exit 2 naming the key", () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ deny: ["10.0.0.0/33"] }, "session.egress.deny"],
    [{ deny: ["010.0.0.0/8"] }, "session.egress.deny"],
    [{ allow: ["example.com/32"] }, "session.egress.allow"],
    [{ allow: ["169.254.169.254/32"] }, "169.254.0.0/16"],
    [{ allow: ["10.1.2.0/24"], deny: ["10.0.0.0/8"] }, "10.0.0.0/8"],
    [{ allow: ["fd00:ec2::254/128"] }, "fd00:ec2::254/128"],
    [{ allow: ["100.100.100.200/32"] }, "100.100.100.200/32"],
    [{ allow: ["168.63.129.16/32"] }, "168.63.129.16/32"],
    [{ deny: ["0.0.0.0/0"] }, "denies everything"],
  ];
  for (const [egress, says] of bad) {
    // straight to the resolver (the config file's schema catches the malformed ones first, see config tests)
    const e = assertThrows(() =>
      resolveSpec(
        { name: "demo", namespace: "dev" },
        {
          ...configSchema.parse({}),
          session: { ...configSchema.parse({}).session, egress: { enabled: true, deny: [], ...egress } },
        },
        { envVars: [], editorFiles: [], now },
      )
    ) as KodamaError;
    assertEquals(e.code, ExitCode.USAGE, JSON.stringify(egress));
    assertStringIncludes(e.message, says, JSON.stringify(egress));
  }
});

Deno.test("cidr: parse and print like Go's net.ParseCIDR (network address, RFC 5952)", () => {
  const ok: [string, string][] = [
    ["10.96.0.1/12", "10.96.0.0/12"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["::/0", "::/0"],
    ["fd00:EC2:0:0:0:0:0:254/128", "fd00:ec2::254/128"],
    ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
    ["fe80::1/10", "fe80::/10"],
    ["1:0:0:2:0:0:0:3/128", "1:0:0:2::3/128"],
  ];
  for (const [i, o] of ok) assertEquals(formatCidr(parseCidr(i)!), o, i);
  for (
    const bad of [
      "10.0.0.0",
      "10.0.0.256/8",
      "10.0.0.0/33",
      "::/129",
      "1:::2/64",
      "1:2:3:4:5:6:7:8:9/64",
      "a/8",
      "10.0.0.0/08",
      "",
    ]
  ) {
    assertEquals(parseCidr(bad), undefined, bad);
  }
  assert(strictlyWithin(parseCidr("10.1.0.0/16")!, parseCidr("10.0.0.0/8")!));
  assert(!strictlyWithin(parseCidr("10.0.0.0/8")!, parseCidr("10.0.0.0/8")!));
  assert(!strictlyWithin(parseCidr("11.0.0.0/16")!, parseCidr("10.0.0.0/8")!));
  assert(!strictlyWithin(parseCidr("::/16")!, parseCidr("0.0.0.0/0")!));
});

Deno.test("templates: runAsUser for an image whose user is known; never root (a template only tightens)", async () => {
  const { templateSchema, withTemplate } = await import("../../../src/session/spec/template.ts");
  assert(templateSchema.safeParse({ image: "kodama-dev:bookworm", runAsUser: 1000 }).success);
  for (const bad of [0, -1, 1.5, "1000"]) {
    assert(!templateSchema.safeParse({ runAsUser: bad }).success, String(bad));
  }
  const t = { name: "dev", source: "repo" as const, image: "kodama-dev:bookworm", runAsUser: 1000 };
  const o = withTemplate(
    { name: "x", namespace: "dev" } as { name: string; namespace: string; runAsUser?: number },
    t,
  );
  assertEquals(o.runAsUser, 1000);
  const pod = buildPod(spec({}, { runAsUser: o.runAsUser })).spec!;
  assertEquals(pod.containers[0].securityContext?.runAsUser, 1000);
  assertEquals(pod.containers[0].securityContext?.capabilities, { drop: ["ALL"] });
});
