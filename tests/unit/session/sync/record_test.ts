/**
 * The initial push's ancestor (`start --sync`): taken from what was sent — each file's md5 computed while
 * it streamed, and the pod's stat key as tar leaves it — with no second walk or read of the tree, and no
 * md5sum of the whole tree in the pod when the background sync starts.
 */
import { assert, assertEquals } from "@kodama/test-assert";
import { createHash } from "node:crypto";
import { type Batch, batchStream } from "../../../../src/session/sync/batch.ts";
import { loadAncestor } from "../../../../src/session/sync/ancestor.ts";
import { IgnoreRules } from "../../../../src/session/sync/ignore.ts";
import { scanTree } from "../../../../src/session/sync/scan.ts";
import type { SyncConfig } from "../../../../src/session/sync/store.ts";
import { localSnaps, podRawMode, recordPushed } from "../../../../src/session/sync/twoway.ts";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

async function tree(root: string) {
  await Deno.mkdir(`${root}/src/deep`, { recursive: true });
  await Deno.mkdir(`${root}/.git/objects`, { recursive: true });
  await Deno.writeTextFile(`${root}/src/a.ts`, "export const a = 1;\n");
  await Deno.writeTextFile(`${root}/src/deep/b.ts`, "b".repeat(300_000)); // the streamed (big file) path
  await Deno.writeTextFile(`${root}/empty`, "");
  await Deno.writeTextFile(`${root}/.git/HEAD`, "ref: refs/heads/main\n");
  await Deno.link(`${root}/src/a.ts`, `${root}/hard.ts`);
  await Deno.symlink("src/a.ts", `${root}/link`);
  await Deno.chmod(`${root}/src/a.ts`, 0o755);
}

Deno.test("record: each file's md5 is taken as it streams, hard links and empty files included", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-rec-" });
  try {
    await tree(root);
    const now = await scanTree(
      root,
      new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: true }),
    );
    const batch: Batch = { deletes: [], sends: [...now] };
    const hashes = new Map<string, string>();
    for await (const _ of batchStream(root, batch, { files: 0, bytes: 0 }, undefined, undefined, hashes)) {
      // consumed as the exec would
    }
    for (const [p, e] of now) {
      if (e.kind !== "file") assertEquals(hashes.has(p), false, p);
      else assertEquals(hashes.get(p), md5(await Deno.readFile(`${root}/${p}`)), p);
    }
    assertEquals(hashes.get("hard.ts"), hashes.get("src/a.ts"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("record: the ancestor is what was sent, with the pod's stat key; .git and edits after the send stay out", async () => {
  const root = await Deno.makeTempDir({ prefix: "kodama-rec-" });
  const home = await Deno.makeTempDir({ prefix: "kodama-rec-home-" });
  try {
    await tree(root);
    const c: SyncConfig = {
      name: "rec",
      namespace: "default",
      root,
      workdir: "/workspace",
      pod: "kodama-rec",
      container: "session",
      syncGit: true,
      useGitignore: true,
      excludePatterns: [],
      connection: [],
    };
    const rules = new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: true });
    const sentTree = await scanTree(root, rules);
    const hashes = new Map<string, string>();
    for await (
      const _ of batchStream(
        root,
        { deletes: [], sends: [...sentTree] },
        { files: 0, bytes: 0 },
        undefined,
        undefined,
        hashes,
      )
    ) {
      // sent
    }
    // edited locally after its bytes went out: the ancestor must hold the version the pod got
    await Deno.writeTextFile(`${root}/src/deep/b.ts`, "edited while the push ran\n");
    await recordPushed(c, home, { tree: sentTree, hashes });
    const a = await loadAncestor("rec", { root, workdir: "/workspace" }, home);
    assertEquals([...a.keys()].filter((p) => p.startsWith(".git")), []);
    assertEquals(a.get("src/deep/b.ts")?.hash, md5(new TextEncoder().encode("b".repeat(300_000))));
    const e = sentTree.get("src/a.ts")!;
    assertEquals(a.get("src/a.ts")?.pk, `${e.size} ${Math.floor(e.mtime / 1000)} 81ed`);
    assertEquals(podRawMode(0o644), "81a4");
    assertEquals(a.get("empty")?.hash, md5(new Uint8Array()));
    assertEquals(a.get("link")?.kind, "symlink");
    assertEquals(a.get("src/deep")?.kind, "dir");
    // the next cycle's local view: the edited file differs from the ancestor (a local change, sent next),
    // the rest is taken from the ancestor without hashing again
    const memo = new Map<string, [string, string]>();
    const { snaps } = await localSnaps(
      root,
      new IgnoreRules(root, { useGitignore: true, excludePatterns: [], syncGit: false }),
      a,
      memo,
    );
    assert(snaps.get("src/deep/b.ts")!.hash !== a.get("src/deep/b.ts")!.hash);
    assertEquals(snaps.get("src/a.ts")!.hash, a.get("src/a.ts")!.hash);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
