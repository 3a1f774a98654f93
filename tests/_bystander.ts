/**
 * An unrelated process for the pid-reuse tests: it notes every TERM and CONT it gets in `file`, and is
 * returned once its traps are set (it says so), so a signal sent after that is noted, never fatal to it.
 */
export async function bystander(file: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `trap 'echo TERM >> ${file}' TERM; trap 'echo CONT >> ${file}' CONT; echo ready; while :; do sleep 0.1; done`,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("ready\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error("the bystander ended before its traps were set");
    said += value;
  }
  await reader.cancel();
  return child;
}
