/**
 * The first TLS connection of a Deno process spends ~50 ms of CPU before its ClientHello: rustls asks
 * AWS-LC for random bytes, and AWS-LC seeds its process-wide tree DRBG from CPU jitter entropy
 * (jitterentropy-library), once per process, on whichever thread asks first. It is not the CA store:
 * it happens with a kubeconfig CA, with DENO_TLS_CA_STORE=mozilla or system, and with certificate
 * checks off (bench/tls_seed.ts reproduces it; bench/README.md has the figures).
 *
 * `warmTls()` asks for a P-256 key pair, which Deno generates with AWS-LC on a blocking thread of its
 * pool: the seeding then runs there, beside the main thread's module loading and kubeconfig reading,
 * and the handshake later finds the DRBG seeded. Only commands that are about to connect call it.
 */
let warmed = false;

export function warmTls(): void {
  if (warmed) return;
  warmed = true;
  try {
    crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]).catch(() => {});
  } catch {
    // no WebCrypto here: the handshake seeds the DRBG itself, as before
  }
}
