/**
 * Prints `with.message` and returns it as the output `message`. Built-in workflows use it instead of a
 * `local: [echo, …]` step: a script needs no `run` permission and no `echo` binary (Windows has none).
 */
export default (ctx: { inputs: { message?: unknown } }) => {
  const message = String(ctx.inputs.message ?? "");
  console.log(message);
  return { message };
};
