/**
 * NODE_EXTRA_CA_CERTS travels as its certificates only (src/session/spec/cabundle.ts): a name in an env file (a
 * repository's, a template's, an MCP client's, a page's) can point at any file here, and a private key or a
 * kubeconfig must not reach the pod's ConfigMap; through a door the path must also pass the door.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@kodama/test-assert";
import { join } from "node:path";
import { certificatesOf } from "../../../src/session/spec/cabundle.ts";
import { planSession } from "../../../src/session/lifecycle/start.ts";
import { agentFor } from "../../../src/agent/runs/launch.ts";
import { configSchema } from "../../../src/config/schema.ts";
import { Door } from "../../../src/config/doors.ts";
import { memorySink } from "../../../src/base/sink.ts";
import { KodamaError } from "../../../src/base/errors.ts";
import { CA_CERTS_PATH } from "../../../src/session/spec/spec.ts";
import { lockEnv } from "../../_env_lock.ts";

const CERT_A = "-----BEGIN CERTIFICATE-----\nMIIBaaaa\nbbbb==\n-----END CERTIFICATE-----\n";
const CERT_B = "-----BEGIN CERTIFICATE-----\nMIICcccc\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----\n";

Deno.test("cabundle: only certificate blocks, whatever else the file holds", () => {
  // a Mozilla-style bundle: comments between the blocks stay here
  const mozilla = `# Issuer: CN=A\n${CERT_A}\n# Issuer: CN=B\n${CERT_B}`;
  assertEquals(certificatesOf(mozilla), { certs: [CERT_A, CERT_B], other: [] });
  // a cert with its key in one file: the key is named, never kept
  const both = certificatesOf(`${KEY}${CERT_A}`);
  assertEquals(both.certs, [CERT_A]);
  assertEquals(both.other, ["PRIVATE KEY"]);
  assert(!both.certs.join("").includes("secret"));
  // CRLF and indentation inside a block
  assertEquals(certificatesOf(CERT_B.replaceAll("\n", "\r\n")).certs, [CERT_B]);
  // an ssh key, a kubeconfig, a dotenv: nothing
  assertEquals(
    certificatesOf("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"),
    {
      certs: [],
      other: ["OPENSSH PRIVATE KEY"],
    },
  );
  assertEquals(certificatesOf("apiVersion: v1\nusers: [{user: {token: abc}}]\n").certs, []);
  // a block whose body is not base64, or whose END does not match its BEGIN, is no certificate
  assertEquals(
    certificatesOf("-----BEGIN CERTIFICATE-----\ntoken: abc!\n-----END CERTIFICATE-----\n").certs,
    [],
  );
  assertEquals(certificatesOf("-----BEGIN CERTIFICATE-----\nMIIB\n-----END PRIVATE KEY-----\n").certs, []);
});

/** A home with a key, a project with env files; planSession as a door (or the person) would run it. */
async function world() {
  const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "kodama-cabundle-" }));
  const home = join(tmp, "home"), project = join(home, "src", "proj");
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.mkdir(join(project, ".git"), { recursive: true });
  await Deno.writeTextFile(join(home, ".ssh", "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n");
  await Deno.writeTextFile(join(home, "corp.pem"), `${KEY}${CERT_A}`);
  await Deno.writeTextFile(join(project, "ca.pem"), CERT_B);
  // held until disposed: another file's test reading HOME meanwhile would see this one's
  const restore = await lockEnv(["HOME", "KODAMA_HOME"]);
  Deno.env.set("HOME", home);
  Deno.env.set("KODAMA_HOME", join(home, ".kodama"));
  return {
    home,
    project,
    async plan(env: string, door?: Door) {
      await Deno.writeTextFile(join(project, "agent.env"), env);
      const err = memorySink();
      const o = { name: "s1", namespace: "dev", envFiles: ["agent.env"], envExclude: [], noSync: true };
      const cfg = configSchema.parse({});
      // the agent (Claude Code by default) is what forwards this environment's NODE_EXTRA_CA_CERTS
      const p = await planSession({ ...o, agentFor: agentFor(o, cfg) }, cfg, {
        out: memorySink(),
        err,
        tty: false,
        cwd: project,
        door,
      });
      return { p, err: err.text() };
    },
    async [Symbol.asyncDispose]() {
      restore();
      await Deno.remove(tmp, { recursive: true });
    },
  };
}

async function code(p: Promise<unknown>): Promise<KodamaError> {
  const e = await assertRejects(() => p);
  assert(e instanceof KodamaError, String(e));
  return e;
}

Deno.test("cabundle: an env file naming a key or a kubeconfig sends nothing of it (exit 2)", async () => {
  await using w = await world();
  const key = join(w.home, ".ssh", "id_ed25519");
  const e = await code(w.plan(`NODE_EXTRA_CA_CERTS=${key}\n`));
  assertEquals(e.code, 2);
  assertMatch(e.message, /holds no PEM certificate: only certificates go to the pod/);
  // a bundle with a key in it: the certificate goes, the key stays and is named
  const { p, err } = await w.plan(`NODE_EXTRA_CA_CERTS=${join(w.home, "corp.pem")}\n`);
  assertEquals(p.data.ca, CERT_A);
  assertEquals(p.data.env.NODE_EXTRA_CA_CERTS, CA_CERTS_PATH);
  assertMatch(err, /1 certificate; left here: its PRIVATE KEY block/);
});

Deno.test("cabundle: through a door the bundle's path must pass it; one from this environment is the person's", async () => {
  await using w = await world();
  const door = await Door.open({
    who: "an MCP client",
    started: w.project,
    allow: [],
    flag: "kodama mcp --allow-path",
  });
  // a client's env file never chooses a CA (config/steering.ts): outside the project (the home's corp.pem), a
  // hidden file of the home, inside the project — nothing of it is read or sent, and that is said
  const saved = Deno.env.get("NODE_EXTRA_CA_CERTS");
  try {
    Deno.env.delete("NODE_EXTRA_CA_CERTS");
    for (const f of [join(w.home, "corp.pem"), join(w.home, ".ssh", "id_ed25519"), "ca.pem"]) {
      const { p, err } = await w.plan(`NODE_EXTRA_CA_CERTS=${f}\n`, door);
      assertEquals(p.data.ca, undefined, f);
      assertEquals(p.data.env.NODE_EXTRA_CA_CERTS, undefined, f);
      assertMatch(err, /note: NODE_EXTRA_CA_CERTS from an MCP client's env file "agent.env" is ignored/);
    }
    // the server's own environment (the person's) names the home's bundle: not a door's value
    Deno.env.set("NODE_EXTRA_CA_CERTS", join(w.home, "corp.pem"));
    const own = await w.plan("A=1\n", door);
    assertEquals(own.p.data.ca, CERT_A);
  } finally {
    saved === undefined ? Deno.env.delete("NODE_EXTRA_CA_CERTS") : Deno.env.set("NODE_EXTRA_CA_CERTS", saved);
  }
});
