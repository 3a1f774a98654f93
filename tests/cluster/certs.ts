/** A throw-away CA, a server certificate for 127.0.0.1/localhost and client certificates, via the openssl CLI (EC P-256). */
import { join } from "node:path";

export interface Pem {
  cert: string;
  key: string;
}

export interface Certs {
  ca: Pem;
  server: Pem;
  /** client certificates by user name (CN) */
  clients: Record<string, Pem>;
}

const OPENSSL = "/usr/bin/openssl";
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function openssl(args: string[]): Promise<void> {
  const out = await new Deno.Command(OPENSSL, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * Generate everything in `dir` (created if missing). Users map name -> groups (O=).
 * Takes ~50 ms: one call for the CA, then all leaf certificates in parallel.
 */
export async function generateCerts(dir: string, users: Record<string, string[]>): Promise<Certs> {
  await Deno.mkdir(dir, { recursive: true });
  const p = (n: string) => join(dir, n);
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-subj",
    "/CN=kodama-test-ca",
    "-days",
    "3650",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  const leaf = (name: string, subj: string, ext: string[]) =>
    openssl([
      "req",
      "-x509",
      ...EC,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.crt`),
      "-subj",
      subj,
      "-days",
      "365",
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      ...ext,
    ]);
  await Promise.all([
    leaf("server", "/CN=kodama-test-server", [
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]),
    ...Object.entries(users).map(([u, groups]) =>
      leaf(`user-${u}`, groups.map((g) => `/O=${g}`).join("") + `/CN=${u}`, [
        "-addext",
        "extendedKeyUsage=clientAuth",
      ])
    ),
  ]);
  const read = async (n: string): Promise<Pem> => ({
    cert: await Deno.readTextFile(p(`${n}.crt`)),
    key: await Deno.readTextFile(p(`${n}.key`)),
  });
  const clients: Record<string, Pem> = {};
  for (const u of Object.keys(users)) clients[u] = await read(`user-${u}`);
  return { ca: await read("ca"), server: await read("server"), clients };
}
