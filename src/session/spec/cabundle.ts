/**
 * NODE_EXTRA_CA_CERTS for a session: the variable names a file on this machine, and the pod cannot read
 * this machine. Its certificates go into the session's ConfigMap, mounted at CA_CERTS_PATH, and the
 * variable (in the env Secret) points there.
 *
 * The name can come from somewhere other than the person: an env file a repository lists, a template, an
 * MCP client or a web page. So only certificates travel (public by nature), never the rest of the file —
 * a private key, a kubeconfig, notes — and through a door the path must pass it like any other.
 */
import type { Sink } from "../../base/sink.ts";
import { readTextBounded } from "../../base/fs/boundedread.ts";
import { KodamaError, usageError } from "../../base/errors.ts";
import { CA_CERTS_PATH } from "./spec.ts";
import type { PathDoor } from "../lifecycle/startio.ts";

/** PEM labels of a certificate, as OpenSSL (and so Node's NODE_EXTRA_CA_CERTS) reads them. */
const CERT =
  /-----BEGIN ((?:TRUSTED |X509 )?CERTIFICATE)-----\r?\n([A-Za-z0-9+/=\r\n\t ]+?)-----END \1-----/g;

/**
 * The certificate blocks of a PEM text, each as `BEGIN … END` lines, and the labels of the other PEM blocks
 * it held (left out: `PRIVATE KEY`, …).
 */
export function certificatesOf(text: string): { certs: string[]; other: string[] } {
  const certs: string[] = [];
  for (const m of text.matchAll(CERT)) {
    const body = m[2].replace(/[\r\t ]/g, "").replace(/\n+/g, "\n").replace(/^\n|\n$/g, "");
    if (body) certs.push(`-----BEGIN ${m[1]}-----\n${body}\n-----END ${m[1]}-----\n`);
  }
  const other = [...text.replace(CERT, "").matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
  return { certs, other: [...new Set(other)] };
}

/**
 * The bundle to send for `vars.NODE_EXTRA_CA_CERTS`, pointing the variable at CA_CERTS_PATH; undefined when
 * the value is no file here (a path in the image: left as it is, with a note). `door`: the value came through
 * one (an env file a client or page named), so its path must pass it. A file with no certificate is exit 2.
 */
export async function caBundle(
  vars: Record<string, string>,
  err: Sink,
  door?: { door: PathDoor; cwd?: string },
): Promise<string | undefined> {
  const p = vars.NODE_EXTRA_CA_CERTS;
  if (!p || p === CA_CERTS_PATH) return undefined;
  const path = door ? await door.door.path(p, "NODE_EXTRA_CA_CERTS", door.cwd) : p;
  let pem: string;
  try {
    pem = await readTextBounded(path, { what: "NODE_EXTRA_CA_CERTS", kind: "repoFile", display: p });
  } catch (e) {
    if (e instanceof KodamaError) throw e;
    err.write(`note: NODE_EXTRA_CA_CERTS=${p} is not a file here: the pod gets the path as it is\n`);
    return undefined;
  }
  const { certs, other } = certificatesOf(pem);
  if (!certs.length) {
    throw usageError(
      `NODE_EXTRA_CA_CERTS=${p} holds no PEM certificate: only certificates go to the pod`,
      "name a CA bundle (-----BEGIN CERTIFICATE----- blocks), or unset it",
    );
  }
  vars.NODE_EXTRA_CA_CERTS = CA_CERTS_PATH;
  const left = other.length ? `; left here: its ${other.join(", ")} block${other.length > 1 ? "s" : ""}` : "";
  err.write(
    `note: the CA bundle ${p} (NODE_EXTRA_CA_CERTS) goes to the pod, at ${CA_CERTS_PATH}: ${certs.length} ` +
      `certificate${certs.length > 1 ? "s" : ""}${left}\n`,
  );
  return certs.join("");
}
