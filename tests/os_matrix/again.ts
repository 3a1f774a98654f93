/**
 * Is this file running again "as darwin" (or another OS) under tests/os_matrix? That pass exists for what
 * differs by OS: liveness without /proc, prompts on a terminal, paths and case folding. A step whose subject
 * is the same on every OS (a 10,000-file batch, a stream cut or stalled by the test server) runs once, in the
 * plain pass: `ignore: AGAIN_AS_OTHER_OS` says so, and costs the OS pass nothing.
 */
export const AGAIN_AS_OTHER_OS = Boolean(Deno.env.get("KODAMA_TEST_AS_OS"));
