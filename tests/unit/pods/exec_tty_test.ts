import { assertEquals } from "@kodama/test-assert";
import { isInteractiveShell, ttyChoice } from "../../../src/pods/exec_cmd.ts";

Deno.test("a shell asked for a session, not a command", () => {
  for (const c of [["bash"], ["/bin/sh"], ["bash", "-l"], ["zsh", "-i"], ["busybox", "sh"]]) {
    assertEquals(isInteractiveShell(c), true, c.join(" "));
  }
  for (const c of [["bash", "-c", "ls"], ["sh", "-lc", "ls"], ["sh", "script.sh"], ["weka", "status"], []]) {
    assertEquals(isInteractiveShell(c), false, c.join(" "));
  }
});

Deno.test("TTY as docker compose exec: a shell on a terminal gets one; -t forces; -T never; no terminal warns", () => {
  const term = { stdin: true, stdout: true };
  assertEquals(ttyChoice({ command: ["bash"] }, term), { tty: true, stdin: true });
  assertEquals(ttyChoice({ command: ["weka", "status"] }, term), { tty: false, stdin: false });
  assertEquals(ttyChoice({ command: ["bash"], tty: false }, term), { tty: false, stdin: false });
  assertEquals(ttyChoice({ command: ["top"], tty: true, stdin: true }, term), { tty: true, stdin: true });
  // output to a pipe: no automatic TTY
  assertEquals(ttyChoice({ command: ["bash"] }, { stdin: true, stdout: false }), {
    tty: false,
    stdin: false,
  });
  // -t without a terminal on stdin: kubectl's warning, and no TTY
  assertEquals(ttyChoice({ command: ["bash"], tty: true, stdin: true }, { stdin: false, stdout: true }), {
    tty: false,
    stdin: true,
    warning: "Unable to use a TTY - input is not a terminal or the right kind of file",
  });
});
