/** scripts/relayout.ts's pure path mapping: the moves, relative specifiers and path mentions it rewrites. */
import { assertEquals } from "../_assert.ts"; // not the import-map name: scripts/relayout.ts renames that
import {
  moveTable,
  relativeSpec,
  rewriteMentions,
  rewriteSegments,
  rewriteSource,
  rewriteSrcRelative,
} from "../../scripts/relayout.ts";

const moves = moveTable();
const EXISTING = new Set([
  "src/errors.ts",
  "src/proc.ts",
  "src/session/start.ts",
  "src/session/ready.ts",
  "src/session/commands.ts",
  "src/session/pod/attach.sh",
  "src/session/sync/commands.ts",
  "src/kube/client.ts",
  "src/session",
  "src/session/pod",
  "src",
  "workflows",
]);
const exists = (p: string) => EXISTING.has(p);

Deno.test("relayout: the table moves every loose floor-0 file into src/base and session modules into topics", () => {
  assertEquals(moves.get("src/errors.ts"), "src/base/errors.ts");
  assertEquals(moves.get("src/platform.ts"), "src/base/platform.ts");
  assertEquals(moves.get("src/proc.ts"), "src/base/proc/proc.ts");
  assertEquals(moves.get("src/session/start.ts"), "src/session/lifecycle/start.ts");
  assertEquals(moves.has("src/session/commands.ts"), false);
  assertEquals([...moves.keys()].filter((k) => /^src\/[^/]+\.ts$/.test(k)).length, 20);
  // no two files land on one path
  assertEquals(new Set(moves.values()).size, moves.size);
});

Deno.test("relayout: relative specifiers follow both the importing file and its target", () => {
  assertEquals(relativeSpec("src/session/lifecycle/start.ts", "src/base/errors.ts"), "../../base/errors.ts");
  assertEquals(
    relativeSpec("src/session/lifecycle/start.ts", "src/session/lifecycle/ready.ts"),
    "./ready.ts",
  );
  const start = `import { a } from "../errors.ts";\nimport { b } from "./ready.ts";\n` +
    `import X from "./pod/attach.sh" with { type: "text" };\nimport { c } from "./sync/commands.ts";\n` +
    `const w = new URL(\`../../workflows/\${n}.yaml\`, import.meta.url);\nconst s = "./not-a-file";\n`;
  assertEquals(
    rewriteSource(start, "src/session/start.ts", "src/session/lifecycle/start.ts", moves, exists),
    `import { a } from "../../base/errors.ts";\nimport { b } from "./ready.ts";\n` +
      `import X from "../pod/attach.sh" with { type: "text" };\nimport { c } from "../sync/commands.ts";\n` +
      `const w = new URL(\`../../../workflows/\${n}.yaml\`, import.meta.url);\nconst s = "./not-a-file";\n`,
  );
  // a file that stays, importing a file that moves
  assertEquals(
    rewriteSource(
      `import "../../src/proc.ts";`,
      "tests/unit/x_test.ts",
      "tests/unit/x_test.ts",
      moves,
      exists,
    ),
    `import "../../src/base/proc/proc.ts";`,
  );
  // a second run changes nothing
  assertEquals(
    rewriteSource(
      `import "../base/errors.ts";`,
      "src/kube/x.ts",
      "src/kube/x.ts",
      moves,
      (p) => p.length > 0,
    ),
    `import "../base/errors.ts";`,
  );
});

Deno.test("relayout: path mentions in docs and comments, src-relative lists, split segments", () => {
  assertEquals(
    rewriteMentions(
      "see `src/platform.ts`, session/start.ts, src/session/sync/session.ts, kube/errors.ts",
      moves,
    ),
    "see `src/base/platform.ts`, session/lifecycle/start.ts, src/session/sync/session.ts, kube/errors.ts",
  );
  assertEquals(rewriteMentions("[x](../src/errors.ts#L3)", moves), "[x](../src/base/errors.ts#L3)");
  assertEquals(
    rewriteSrcRelative(`["errors.ts", "config/keys.ts"]`, moves),
    `["base/errors.ts", "config/keys.ts"]`,
  );
  assertEquals(
    rewriteSegments(`join(root, "src", "proc.ts")`, moves),
    `join(root, "src", "base", "proc", "proc.ts")`,
  );
});
