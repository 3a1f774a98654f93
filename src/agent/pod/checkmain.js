// The pod's side of `kodama agent check SESSION`, after pod/check.js (its `export`s dropped): the plan as JSON
// on stdin, the timeout in ms as the argument; prints the probe as one JSON line. Usage: node -e TEXT _ MS
"use strict";

(async () => {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  return await sendPlan(plan, process.env, Number(process.argv[2]) || 30000);
})().then(
  (p) => process.stdout.write(JSON.stringify(p) + "\n"),
  (e) => {
    process.stderr.write(`kodama check: ${e && e.message}\n`);
    process.exit(2);
  },
);
