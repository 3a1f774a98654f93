/**
 * Print the Deno cache directory this machine's `deno` uses: DENO_DIR, else the OS's default (as
 * `deno info` reports it). `deno task test` pins DENO_DIR to it for the whole run: tests give kodama a
 * home of its own (HOME=<temp>), and some set HOME for the test process itself for a moment; a
 * `deno run` of kodama under another HOME found an empty cache there and downloaded every npm package
 * again (~3 s and ~4 s of CPU each time, and a download that failed failed the test).
 */
const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stderr: "inherit" }).output();
if (!out.success) Deno.exit(1);
console.log(JSON.parse(new TextDecoder().decode(out.stdout)).denoDir);
