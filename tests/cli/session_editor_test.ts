/**
 * Editor configuration as the contract says (seeds/002, start step 2): every session gets the editor
 * ConfigMap with default Helix and Zellij configs, found at ~/.config/helix and ~/.config/zellij in the
 * pod; the repository's `.kodama/configs/` overrides a file; an edit made in the session survives a
 * restart; `editor.enabled: false` leaves it all out.
 */
import { assert, assertEquals, assertStringIncludes } from "@kodama/test-assert";
import { join } from "node:path";
import { podOf, purge, SESSION_IMAGE, withSessionWorld } from "./_session.ts";

const FILES = "~/.config/helix/config.toml ~/.config/helix/languages.toml ~/.config/zellij/config.kdl";

withSessionWorld(
  "editor config: defaults by default, repo overrides, edits kept, editor.enabled false",
  { timeoutMs: 300_000 },
  async (t, w) => {
    try {
      await t.step("a plain start: the ConfigMap with three defaults, the files in ~/.config", async () => {
        const r = await w.k(["start", "ed", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        const cm = await w.kc(["get", "configmap", "kodama-editor-config-ed", "-o", "json"]);
        assertEquals(cm.code, 0, cm.stderr);
        const data = JSON.parse(cm.stdout).data;
        assertEquals(Object.keys(data).sort(), [
          "helix-config.toml",
          "helix-languages.toml",
          "zellij-config.kdl",
        ]);
        const f = await w.sh("ed", `for f in ${FILES}; do cat "$f"; done`);
        assertEquals(f.code, 0, f.stderr);
        assertEquals(
          f.stdout,
          data["helix-config.toml"] + data["helix-languages.toml"] + data["zellij-config.kdl"],
        );
        assertStringIncludes(f.stdout, "[editor]");
        assertStringIncludes(f.stdout, "pane_frames false");
      });

      await t.step(
        "an edit made in the session survives stop and resume (a default never replaces it)",
        async () => {
          const e = await w.sh("ed", `echo 'theme = "mine"' > ~/.config/helix/config.toml`);
          assertEquals(e.code, 0, e.stderr);
          assertEquals((await w.k(["stop", "ed"])).code, 0);
          const r = await w.k(["resume", "ed"]);
          assertEquals(r.code, 0, r.stderr);
          const f = await w.sh("ed", "cat ~/.config/helix/config.toml");
          assertEquals(f.stdout, 'theme = "mine"\n');
        },
      );

      await t.step(
        "the repository's .kodama/configs/ file replaces its default; the others stay",
        async () => {
          await Deno.mkdir(join(w.cwd, ".kodama", "configs"), { recursive: true });
          await Deno.writeTextFile(join(w.cwd, ".kodama/configs/zellij-config.kdl"), 'theme "repo"\n');
          const r = await w.k(["start", "ed2", "--image", SESSION_IMAGE, "--no-sync"]);
          assertEquals(r.code, 0, r.stderr);
          const f = await w.sh(
            "ed2",
            "cat ~/.config/zellij/config.kdl; grep -c '^\\[editor\\]' ~/.config/helix/config.toml",
          );
          assertEquals(f.code, 0, f.stderr);
          assertEquals(f.stdout, 'theme "repo"\n1\n');
          const g = await w.k(["session", "get", "ed2"]);
          assertStringIncludes(g.stdout, "from the repository: zellij-config.kdl");
          await Deno.remove(join(w.cwd, ".kodama"), { recursive: true });
        },
      );

      await t.step("editor.enabled: false: no ConfigMap, no mount, no files", async () => {
        await Deno.writeTextFile(join(w.home, "config.yaml"), "editor:\n  enabled: false\n");
        const r = await w.k(["start", "ed3", "--image", SESSION_IMAGE]);
        assertEquals(r.code, 0, r.stderr);
        const cm = await w.kc(["get", "configmap", "kodama-editor-config-ed3"]);
        assertEquals(cm.code, 1);
        const pod = JSON.parse((await w.kc(["get", "pod", await podOf(w, "ed3"), "-o", "json"])).stdout);
        assert(!pod.spec.volumes.some((v: { configMap?: unknown }) => v.configMap), "an editor volume");
        const f = await w.sh("ed3", "ls ~/.config 2>&1 || true");
        assert(!f.stdout.includes("helix") && !f.stdout.includes("zellij"), f.stdout);
        await Deno.remove(join(w.home, "config.yaml"));
      });
    } finally {
      for (const s of ["ed", "ed2", "ed3"]) await purge(w, s);
    }
  },
);
