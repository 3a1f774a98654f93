/** The VS Code extension's manifest-context parser (editors/vscode/src/manifest.ts): pure, no vscode. */
import { assertEquals } from "@kodama/test-assert";
import { labelSelector, manifestContext, manifestContextAt } from "../../../editors/vscode/src/manifest.ts";

Deno.test("Deployment: namespace and spec.selector.matchLabels", () => {
  const doc = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  selector:
    matchLabels: { app: api, tier: backend }
  template:
    metadata:
      labels: { app: api, tier: backend, version: v2 }
`;
  assertEquals(manifestContextAt(doc, 10), {
    kind: "Deployment",
    name: "api",
    namespace: "prod",
    selector: "app=api,tier=backend",
  });
});

Deno.test("StatefulSet and DaemonSet: matchExpressions in kubectl's syntax", () => {
  assertEquals(
    labelSelector({
      matchLabels: { app: "weka" },
      matchExpressions: [
        { key: "role", operator: "In", values: ["drive", "compute"] },
        { key: "zone", operator: "NotIn", values: ["a"] },
        { key: "gpu", operator: "Exists" },
        { key: "canary", operator: "DoesNotExist" },
      ],
    }),
    "app=weka,role in (drive,compute),zone notin (a),gpu,!canary",
  );
  const ds = manifestContext({
    kind: "DaemonSet",
    metadata: { name: "agent" },
    spec: {
      selector: {
        matchExpressions: [{ key: "app", operator: "In", values: ["agent"] }],
      },
    },
  });
  assertEquals(ds, {
    kind: "DaemonSet",
    name: "agent",
    selector: "app in (agent)",
  });
  const sts = manifestContext({
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "data" },
    spec: { selector: { matchLabels: { app: "db" } } },
  });
  assertEquals(sts, {
    kind: "StatefulSet",
    name: "db",
    namespace: "data",
    selector: "app=db",
  });
});

Deno.test("Service: its selector finds the pods; one without a selector has a note and no selector", () => {
  assertEquals(
    manifestContext({
      kind: "Service",
      metadata: { name: "api", namespace: "prod" },
      spec: { selector: { app: "api" } },
    }),
    { kind: "Service", name: "api", namespace: "prod", selector: "app=api" },
  );
  const bare = manifestContext({
    kind: "Service",
    metadata: { name: "ext" },
    spec: { ports: [{ port: 80 }] },
  });
  assertEquals(bare?.selector, undefined);
  assertEquals(bare?.note?.includes("no selector"), true);
});

Deno.test("Job without a selector: the template's labels; CronJob: its job template's", () => {
  assertEquals(
    manifestContext({
      kind: "Job",
      metadata: { name: "migrate" },
      spec: {
        template: { metadata: { labels: { job: "migrate" } }, spec: {} },
      },
    }),
    { kind: "Job", name: "migrate", selector: "job=migrate" },
  );
  assertEquals(
    manifestContext({
      kind: "CronJob",
      metadata: { name: "nightly" },
      spec: {
        jobTemplate: {
          spec: { template: { metadata: { labels: { cron: "nightly" } } } },
        },
      },
    })?.selector,
    "cron=nightly",
  );
});

Deno.test("Pod: exactly that pod", () => {
  assertEquals(
    manifestContext({
      kind: "Pod",
      metadata: { name: "debug", namespace: "dev", labels: { a: "b" } },
    }),
    { kind: "Pod", name: "debug", namespace: "dev", pod: "debug" },
  );
});

Deno.test("multi-document YAML: the document under the cursor, --- lines included", () => {
  const text = `# a comment
apiVersion: v1
kind: Service
metadata: { name: api, namespace: prod }
spec:
  selector: { app: api }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: staging
spec:
  selector: { matchLabels: { app: web } }
---
kind: ConfigMap
metadata: { name: cfg }
`;
  assertEquals(manifestContextAt(text, text.indexOf("selector: { app")), {
    kind: "Service",
    name: "api",
    namespace: "prod",
    selector: "app=api",
  });
  assertEquals(manifestContextAt(text, 0)?.kind, "Service");
  const web = manifestContextAt(text, text.indexOf("name: web"));
  assertEquals(web, {
    kind: "Deployment",
    name: "web",
    namespace: "staging",
    selector: "app=web",
  });
  // the cursor on the `---` that opens the Deployment, and at the very end of the Service
  assertEquals(
    manifestContextAt(text, text.indexOf("---\napiVersion: apps"))?.kind,
    "Deployment",
  );
  assertEquals(
    manifestContextAt(text, text.indexOf("---\napiVersion: apps") - 1)?.kind,
    "Service",
  );
  // a ConfigMap has no pods
  assertEquals(manifestContextAt(text, text.indexOf("name: cfg")), undefined);
});

Deno.test("not a manifest, broken YAML, a kind without pods: undefined, no throw", () => {
  assertEquals(manifestContextAt("hello: [", 3), undefined);
  assertEquals(manifestContextAt("", 0), undefined);
  assertEquals(manifestContextAt("- a\n- b\n", 2), undefined);
  assertEquals(
    manifestContextAt("kind: Secret\nmetadata: {name: s}\n", 2),
    undefined,
  );
  // an alias bomb is refused by the parser, not expanded
  const bomb =
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nkind: Pod\n";
  assertEquals(manifestContextAt(bomb, 0), undefined);
});
