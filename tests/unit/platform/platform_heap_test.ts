/**
 * keepFreedHeap (src/base/platform.ts): after it, buffers freed and made again one after another (a stream's
 * frames) reuse the heap's pages instead of faulting them in anew. Counted, not timed: the minor page
 * faults of a churn of 64 KiB buffers in a child process (platform.ts minorFaults), with and without it.
 */
import { assert } from "@kodama/test-assert";
import { hostPlatform } from "../../../src/base/platform.ts";

const PLATFORM = new URL("../../../src/base/platform.ts", import.meta.url).href;

async function faults(keep: boolean): Promise<number> {
  const code = `
    import { hostPlatform, keepFreedHeap, minorFaults } from ${JSON.stringify(PLATFORM)};
    if (${keep}) keepFreedHeap(hostPlatform());
    const minflt = () => minorFaults(hostPlatform()) ?? NaN;
    const before = minflt();
    let held = [];
    for (let i = 0; i < 2000; i++) {
      const b = new ArrayBuffer(65537);
      new Uint8Array(b).fill(1);
      held.push(b);
      if (held.length > 16) { for (const h of held) h.transfer(0); held = []; }
    }
    console.log(minflt() - before);`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", "--quiet", code], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim());
}

Deno.test({
  name: "keepFreedHeap: a churn of 64 KiB buffers faults far fewer pages in after it (Linux, glibc)",
  ignore: hostPlatform().os !== "linux",
  fn: async () => {
    const [without, kept] = [await faults(false), await faults(true)];
    assert(without > 1000, `the churn faulted only ${without} pages without it: nothing to compare`);
    assert(kept * 3 < without, `with it ${kept} page faults, without ${without}`);
  },
});
