/**
 * What a pod sends back is untrusted (#26 class 10): `sync pull` of a session whose pod planted a
 * `.git/config` with `core.fsmonitor`, a hook, a setuid file, a world-writable file and a file where the
 * local tree has a directory (holding an ignored file the pod never had). The local `.git` stays byte for
 * byte as it was, no special or world-write bit comes down, the directory stays without --force, and with
 * --force only its ignored file stays (and so the directory). Also `.GIT` and `git~1` (the git directory
 * on a case-insensitive disk, and NTFS's short name) and symlinks that lead out of the tree are not made, nor
 * kodama's rules: its configuration (a nested `.kodama/` workflow, `.kodama.yaml`) and ignore files.
 */
import { assert, assertEquals, assertMatch } from "@kodama/test-assert";
import { purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const NAME = "sync-pull-safety";

/** Every path under dir with its bytes (or link target) and mode: a byte-for-byte picture. */
async function picture(dir: string): Promise<string> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const st = await Deno.lstat(`${dir}/${p}`);
      if (e.isDirectory) {
        out.push(`d ${(st.mode! & 0o7777).toString(8)} ${p}`);
        await walk(p);
      } else if (e.isSymlink) out.push(`l ${await Deno.readLink(`${dir}/${p}`)} ${p}`);
      else {out.push(
          `f ${(st.mode! & 0o7777).toString(8)} ${
            btoa(String.fromCharCode(...await Deno.readFile(`${dir}/${p}`)))
          } ${p}`,
        );}
    }
  };
  await walk("");
  return out.sort().join("\n");
}

withSessionWorld(
  "sync pull: never writes .git, strips special and world-write bits, keeps a replaced directory",
  {},
  async (_t, w) => {
    const root = `${w.cwd}/project`;
    await Deno.mkdir(`${root}/gen`, { recursive: true });
    try {
      const git = (...args: string[]) =>
        new Deno.Command("git", { args, cwd: root, stdout: "null", stderr: "null" }).outputSync();
      git("init", "-q");
      await Deno.writeTextFile(`${root}/.gitignore`, "*.cache\n");
      await Deno.writeTextFile(`${root}/a.txt`, "a\n");
      await Deno.writeTextFile(`${root}/gen/out.txt`, "generated\n");
      await Deno.writeTextFile(`${root}/gen/local.cache`, "ignored, never in the pod\n");
      git("add", "-A");
      git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one");
      // the user's workflows.paths names a directory in the tree: `kodama run` reads it, trusted as the user's
      await Deno.writeTextFile(`${w.home}/config.yaml`, `workflows:\n  paths: [${root}/ci/workflows]\n`);
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE, "--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
      await Deno.writeTextFile(`${root}/gen/local-only.txt`, "made here after the sync\n");
      const marker = `${w.cwd}/pwned`;
      const before = await picture(`${root}/.git`);
      const pod = await w.sh(
        NAME,
        [
          "cd /workspace",
          "mkdir -p .git/hooks",
          "printf '[core]\\n\\tfsmonitor = touch ${marker}\\n' > .git/config",
          "printf '#!/bin/sh\\ntouch ${marker}\\n' > .git/hooks/post-checkout && chmod 755 .git/hooks/post-checkout",
          "echo suid > suid.sh && chmod 4755 suid.sh",
          "echo open > open.txt && chmod 777 open.txt",
          "rm -rf gen && echo now-a-file > gen",
          // other spellings of .git (a Mac or Windows disk reads them as the git directory)
          "mkdir -p .GIT/hooks git~1 && echo x > .GIT/hooks/post-checkout && echo x > git~1/config",
          // symlinks: out of the tree (absolute, and `..` past the root) and one inside it
          `ln -s ${marker}-target out-link && ln -s ../../etc up-link && ln -s a.txt in-link`,
          // kodama's rules: a workflow a subdirectory's `kodama run` would find first, the repo config, and
          // ignore files that would un-ignore what stays here (the next push would send it)
          "mkdir -p sub/.kodama/workflows sub/.KODAMA && echo 'steps: []' > sub/.kodama/workflows/tests.yaml",
          "echo x > sub/.KODAMA/x.yaml && echo 'sync: {}' > .kodama.yaml && echo '!*.cache' > .kodamaignore",
          "echo '!*.cache' >> .gitignore && echo '!*.cache' > gen.gitignore.txt",
          // a workflow in the workflows.paths directory; beside it, plain data
          "mkdir -p ci/workflows && echo 'steps: []' > ci/workflows/deploy.yaml && echo data > ci/workflows/notes.txt",
        ].join(" && "),
      );
      assertEquals(pod.code, 0, pod.stderr);

      const dry = await w.k(["sync", "pull", NAME, "--dry-run"]);
      assertEquals(dry.code, 0, dry.stderr);
      assert(!/^\S (\.git|\.GIT|git~1)\//m.test(dry.stdout), dry.stdout);
      assertMatch(dry.stdout, /^! \.gitignore \(modified in the pod, left there: it is an ignore file/m);

      const pull = await w.k(["sync", "pull", NAME]);
      assertEquals(await picture(`${root}/.git`), before, "sync pull changed .git");
      assertEquals((await Deno.stat(`${root}/suid.sh`)).mode! & 0o7777, 0o755);
      assertEquals((await Deno.stat(`${root}/open.txt`)).mode! & 0o7777, 0o775);
      for (
        const p of [
          ".GIT",
          "git~1",
          "out-link",
          "up-link",
          "sub/.kodama",
          "sub/.KODAMA",
          ".kodama.yaml",
          "ci/workflows/deploy.yaml",
        ]
      ) {
        assert(!(await Deno.lstat(`${root}/${p}`).catch(() => false)), `sync pull made ${p}`);
      }
      // the ignore rules stay this machine's; the pod's change is said, once
      assertEquals(await Deno.readTextFile(`${root}/.gitignore`), "*.cache\n");
      assert(!(await Deno.lstat(`${root}/.kodamaignore`).catch(() => false)), "sync pull made .kodamaignore");
      assertMatch(pull.stderr, /not writing "\.gitignore" locally: it is an ignore file/);
      assertMatch(
        pull.stderr,
        /not writing "sub\/\.kodama\/workflows\/tests\.yaml" locally: it is kodama's config/,
      );
      assertEquals(pull.stderr.split('not writing ".kodamaignore"').length, 2, pull.stderr);
      assertMatch(
        pull.stderr,
        /not writing "ci\/workflows\/deploy\.yaml" locally: it is in a workflows directory/,
      );
      assertEquals(await Deno.readTextFile(`${root}/ci/workflows/notes.txt`), "data\n");
      assertEquals(await Deno.readTextFile(`${root}/gen.gitignore.txt`), "!*.cache\n"); // data, as any file
      assertEquals(await Deno.readLink(`${root}/in-link`), "a.txt");
      // the directory the pod replaced with a file stays without --force, with what the pod did not delete
      assert((await Deno.stat(`${root}/gen`)).isDirectory);
      assertEquals(await Deno.readTextFile(`${root}/gen/local-only.txt`), "made here after the sync\n");
      assertEquals(await Deno.readTextFile(`${root}/gen/local.cache`), "ignored, never in the pod\n");
      // the pod replaced a directory that still holds a local-only file: a conflict, left alone
      assertMatch(pull.stdout, /^C gen /m);
      assertEquals(pull.code, 1, pull.stderr);

      const force = await w.k(["sync", "pull", NAME, "--force"]);
      assertEquals(await picture(`${root}/.git`), before, "sync pull --force changed .git");
      assertEquals(
        await Deno.readTextFile(`${root}/.gitignore`),
        "*.cache\n",
        "sync pull --force took the pod's rules",
      );
      // --force removes what is not ignored, keeps the ignored file (and so the directory)
      assert(!(await Deno.stat(`${root}/gen/local-only.txt`).catch(() => false)));
      assertEquals(await Deno.readTextFile(`${root}/gen/local.cache`), "ignored, never in the pod\n");
      assertMatch(force.stderr, /not pulling gen: the directory here holds ignored files, which are kept/);
      // local git still works and ran nothing of the pod's
      git("status");
      assert(!(await Deno.stat(marker).catch(() => false)), "a command from the pod ran locally");
    } finally {
      await purge(w, NAME);
    }
  },
);

withSessionWorld(
  "sync pull: a pod's link chain, links into .git and links out through a local link are never made (#50)",
  {},
  async (_t, w) => {
    const root = `${w.cwd}/project`;
    await Deno.mkdir(`${root}/d`, { recursive: true });
    await Deno.mkdir(`${w.cwd}/.ssh`, { recursive: true });
    await Deno.writeTextFile(`${w.cwd}/.ssh/authorized_keys`, "mine\n");
    try {
      new Deno.Command("git", { args: ["init", "-q"], cwd: root }).outputSync();
      await Deno.writeTextFile(`${root}/a.txt`, "a\n");
      await Deno.writeTextFile(`${root}/d/keep.txt`, "d\n");
      // the user's own link out of the tree (pushed to the pod as a link)
      await Deno.symlink(w.cwd, `${root}/vendor`);
      const r = await w.k(["start", NAME, "--image", SESSION_IMAGE, "--sync", "project"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals((await w.k(["sync", "stop", NAME])).code, 0);
      const pod = await w.sh(
        NAME,
        [
          "cd /workspace",
          "ln -s .. d/a && ln -s a/.. d/b && ln -s b/.. d/c",
          "ln -s d/c/../../.ssh/authorized_keys notes.md",
          "ln -s .git/hooks hookslink && ln -s d/a/.git gitroot",
          "ln -s vendor/.ssh/authorized_keys viavendor && ln -s vendor outer",
          "ln -s d/a/d/keep.txt fine",
        ].join(" && "),
      );
      assertEquals(pod.code, 0, pod.stderr);
      const pull = await w.k(["sync", "pull", NAME]);
      for (const p of ["d/b", "d/c", "notes.md", "hookslink", "gitroot", "viavendor", "outer"]) {
        assert(!(await Deno.lstat(`${root}/${p}`).catch(() => false)), `sync pull made ${p}: ${pull.stderr}`);
        assertMatch(pull.stderr, new RegExp(`not writing "${p}" locally`));
      }
      // links that stay inside are made: d/a is the tree itself, fine goes through it and down again
      assertEquals(await Deno.readLink(`${root}/d/a`), "..");
      assertEquals(await Deno.readTextFile(`${root}/fine`), "d\n");
      assertEquals(await Deno.readTextFile(`${w.cwd}/.ssh/authorized_keys`), "mine\n");
      assertEquals(pull.code, 1, pull.stderr); // refused paths are reported as skipped
    } finally {
      await purge(w, NAME);
    }
  },
);
