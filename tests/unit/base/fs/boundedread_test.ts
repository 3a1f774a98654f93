/** Bounded reads (#26): only regular files, at most the kind's limit, errors naming the file. */
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@kodama/test-assert";
import { join } from "node:path";
import { READ_LIMITS, readTextBounded, readTextBoundedSync } from "../../../../src/base/fs/boundedread.ts";
import { ExitCode, KodamaError } from "../../../../src/base/errors.ts";

const o = { what: "env file", kind: "envFile" as const };

Deno.test("bounded read: a regular file within the limit is read whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.env");
    await Deno.writeTextFile(p, "A=1\n".repeat(1000));
    assertEquals(await readTextBounded(p, o), "A=1\n".repeat(1000));
    assertEquals(readTextBoundedSync(p, o), "A=1\n".repeat(1000));
    await Deno.writeTextFile(p, "");
    assertEquals(await readTextBounded(p, o), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bounded read: devices, FIFOs, directories and links to them are refused unopened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = join(dir, "fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    await Deno.symlink("/dev/zero", join(dir, "zero-link"));
    const cases: [string, string][] = [
      ["/dev/zero", "a device"],
      [join(dir, "zero-link"), "a device"],
      [fifo, "a FIFO"],
      [dir, "a directory"],
    ];
    for (const [p, kind] of cases) {
      const e = await assertRejects(() => readTextBounded(p, { ...o, display: "shown-name" }));
      assert(e instanceof KodamaError);
      assertEquals(e.message, `cannot read env file shown-name: it is ${kind}, not a regular file`);
      assertEquals(e.code, ExitCode.USAGE);
      const s = assertThrows(() => readTextBoundedSync(p, { what: "kubeconfig", kind: "kubeconfig" }));
      assertStringIncludes((s as Error).message, `cannot read kubeconfig ${p}: it is ${kind}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bounded read: a file over the limit is refused, naming the file and the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "big.yaml");
    await Deno.writeFile(p, new Uint8Array(READ_LIMITS.config + 1).fill(0x61));
    const e = await assertRejects(() => readTextBounded(p, { what: "config file", kind: "config" }));
    assert(e instanceof KodamaError);
    assertEquals(
      e.message,
      `cannot read config file ${p}: it is larger than 1 MiB, the most kodama reads from a config file`,
    );
    const s = assertThrows(() => readTextBoundedSync(p, { what: "config file", kind: "config" }));
    assertStringIncludes((s as Error).message, "larger than 1 MiB");
    // exactly the limit is fine
    await Deno.writeFile(p, new Uint8Array(READ_LIMITS.config).fill(0x61));
    assertEquals(
      (await readTextBounded(p, { what: "config file", kind: "config" })).length,
      READ_LIMITS.config,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bounded read: a missing file is Deno's NotFound, for the caller's words", async () => {
  const e = await assertRejects(() => readTextBounded("/nonexistent/x.env", o));
  assert(e instanceof Deno.errors.NotFound);
});
