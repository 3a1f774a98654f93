/**
 * The two-way apply as a node program (APPLY_JS), for the kept-open channel in an image that has `node`
 * (most coding-agent images: the agents are Node programs; the watcher's notifier uses it too). Nothing is
 * copied into the pod: the program is the exec's argument.
 *
 * Why: APPLY2_SCRIPT (podside.ts) starts about fifteen processes a batch (mkdir, rm, head, tar, stat, awk,
 * mv, …). On the real v1.24 cluster those were 150-500 ms of a one-file save's 350 ms p95 (stop 45's
 * trace). This program stays up for the whole sync and applies each batch with file system calls: no
 * process per batch.
 *
 * It does exactly what APPLY2_SCRIPT does, on the same stdin (`LENGTH\n` and a tar archive of that
 * length, its last member `.kodama/ops`), and says the same (`skip PATH`, `fail PATH`, then `done CODE`):
 *  - the archive is extracted into `.kodama/sync-stage` (0700; `.kodama` 0700 and marked made-by-sync
 *    when the sync makes it), modes and mtimes as tar sets them under umask 0; symlinks are made after
 *    every file (as GNU tar delays them), so no member is written through a link of the same archive, and
 *    a member named absolutely or with `..` is not extracted (its operation then fails);
 *  - every operation's path is checked before any runs: it runs only when the path's `%s %Y %f` key (size,
 *    mtime in whole seconds, raw mode in hex: what `stat -c` prints) is still what the plan saw (`-`
 *    absent, `*` whatever). The key is read with bigint stats, so a mtime a nanosecond before a second's
 *    end is not rounded up into the next;
 *  - F renames the staged file into place (an empty directory there is removed first; a non-empty one is
 *    skipped), R removes a file or link, or a directory when empty, D makes a directory (a file or link
 *    there is removed first) and sets its mode, X is skipped;
 *  - the stage goes, and `.kodama` with it when the sync made it.
 *
 * The program prints `ready node` once it runs (the channel then sends batches raw, not base64). A node
 * older than 12 exits 86 before reading anything and the channel's shell loop takes over; a first line
 * other than `ready node` (a wrapper that prints), or an end without one, makes BatchChannel.open reopen
 * the channel without it. No file of the workspace is read except to stat it. `kodama-idle-ignore`:
 * waiting for batches is not activity for a session's idle stop; what a batch writes is (a write under
 * the workspace).
 *
 * **One protocol, two programs.** The shell apply (pod/apply2.sh) stays: it is what runs where the image
 * has no node, and on the one-shot exec of a big batch. The two are not generated from one source (a sh
 * and a Node program share too little); instead the protocol has ONE specification, a table of cases
 * (tests/_apply_spec.ts: the tree before, the records sent, the tree after and the lines said), and
 * tests/unit/session/sync/apply_spec_test.ts runs it against apply2.sh under busybox sh and dash and
 * against apply.js under node (docs/sync.md).
 */
import APPLY from "./pod/apply.js" with { type: "text" };

/** The node program's exit code when this node cannot run it: the channel falls back to its shell loop. */
export const NODE_UNFIT = 86;

/** pod/apply.js (its NODE_UNFIT is the literal 86 there: pod_files_test checks they agree) */
export const APPLY_JS: string = APPLY;
