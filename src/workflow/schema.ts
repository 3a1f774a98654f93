/**
 * The workflow file format, as zod schemas. This is the single source of truth: the loader validates
 * with it, `schemas/workflow.schema.json` is generated from it (`kodama workflow schema`), and the
 * step kinds contribute their own spec schemas through the registry.
 */
import { z } from "zod";
import { KIND_NAMES, KINDS } from "./steps/registry.ts";
import { ID_RE, NAME_RE } from "./model.ts";
import { Duration, specKit } from "./speckit.ts";

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const EnvMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "not a valid environment variable name" }),
  scalar,
)
  .describe("environment variables (values may use ${{ }} expressions)");

export const Param = z.object({
  type: z.enum(["string", "number", "boolean", "enum"]).optional().describe("default: string"),
  description: z.string().optional(),
  default: scalar.optional().describe("value used when --param does not set it"),
  required: z.boolean().optional().describe("must be given with --param (prompted on a TTY)"),
  values: z.array(z.string()).min(1).optional().describe("allowed values of an enum param"),
}).strict().describe("a workflow parameter, set with --param NAME=VALUE");

export const Target = z.object({
  namespace: z.string().optional().describe("namespace (default: -n, else the context's namespace)"),
  allNamespaces: z.boolean().optional().describe("look in every namespace"),
  match: z.union([z.string(), z.array(z.string())]).optional().describe(
    "pod name contains this substring (a list: all must match)",
  ),
  regex: z.string().optional().describe("pod name matches this regular expression"),
  labels: z.union([z.string(), z.record(z.string(), z.string())]).optional().describe(
    "label selector: 'app=api,tier!=cache' or a map",
  ),
  fieldSelector: z.string().optional().describe("field selector, e.g. spec.nodeName=n1"),
  pod: z.string().optional().describe("exactly this pod name"),
  container: z.string().optional().describe("container (default: the pod's default container)"),
  select: z.enum(["one", "all", "pick"]).optional().describe(
    "one (default): the first match by name; all: every match; pick: choose interactively",
  ),
  includeNotReady: z.boolean().optional().describe("also consider pods that are not Running"),
}).strict().describe("a named set of pods steps run against");

const list = z.array(z.string());
export const Permissions = z.object({
  run: list.optional().describe("commands local/script steps may spawn (names or paths)"),
  read: list.optional().describe("paths scripts may read (relative to the repo; ~ is home)"),
  write: list.optional().describe("paths scripts may write"),
  net: list.optional().describe("hosts (host or host:port) scripts may connect to"),
  env: list.optional().describe("environment variables scripts may read"),
}).strict().describe(
  "Deno permissions granted to local and script steps; nothing else is allowed. Non-empty permissions must be trusted.",
);

const commonShape = {
  id: z.string().regex(ID_RE, { error: "step ids are letters, digits, '_' and '-', starting with a letter" })
    .optional().describe("how later steps refer to this one: steps.<id>.outputs"),
  name: z.string().optional().describe("shown in the display"),
  if: z.union([z.string(), z.boolean()]).optional().describe(
    "run only when this expression is true (default: success())",
  ),
  env: EnvMap.optional(),
  timeout: Duration.optional(),
  "continue-on-error": z.boolean().optional().describe("a failure of this step does not fail the run"),
};

/** The strict schema of a step of one kind; `step` is the schema used for nested steps. */
export function stepSchemaFor(kind: string, step: z.ZodType): z.ZodObject {
  return z.object({ ...commonShape, [kind]: KINDS[kind].spec(specKit(step)) }).strict().describe(
    `${kind}: ${KINDS[kind].summary}`,
  );
}

export const Step: z.ZodType<Step> = z.lazy(() =>
  z.union(KIND_NAMES.map((k) => stepSchemaFor(k, Step)) as unknown as [z.ZodObject, z.ZodObject])
) as unknown as z.ZodType<Step>;

const workflowShape = {
  $schema: z.string().optional(),
  name: z.string().regex(NAME_RE, { error: "names are lower-case letters, digits, '.', '_' and '-'" })
    .optional()
    .describe("the name `kodama run` uses (default: the file name without .yaml)"),
  description: z.string().optional(),
  params: z.record(z.string().regex(ID_RE), Param).optional(),
  targets: z.record(z.string().regex(ID_RE), Target).optional(),
  env: EnvMap.optional(),
  permissions: Permissions.optional(),
  tty: z.boolean().optional().describe(
    "let script and local steps write terminal control sequences (colours, cursor moves); default false: they are stripped",
  ),
  steps: z.array(Step).min(1, { error: "a workflow needs at least one step" }),
};
export const Workflow = z.object(workflowShape).strict().describe("a kodama workflow (kodama run NAME)");

/** The top level with steps left unchecked: the loader validates steps one by one for better errors. */
export const WorkflowTop = z.object({
  ...workflowShape,
  steps: z.array(z.unknown()).min(1, { error: "a workflow needs at least one step" }),
}).strict();

export interface StepCommon {
  id?: string;
  name?: string;
  if?: string | boolean;
  env?: Record<string, string | number | boolean>;
  timeout?: string | number;
  "continue-on-error"?: boolean;
}
export type Step = StepCommon & { [kind: string]: unknown };
export type Param = z.infer<typeof Param>;
export type Target = z.infer<typeof Target>;
export type Permissions = z.infer<typeof Permissions>;
export type Workflow = Omit<z.infer<typeof WorkflowTop>, "steps"> & { steps: Step[] };

export const TOP_KEYS = Object.keys(workflowShape);

/** JSON Schema for editors (schemas/workflow.schema.json). */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Workflow, {
    target: "draft-2020-12",
    unrepresentable: "any",
    cycles: "ref",
  }) as Record<
    string,
    unknown
  >;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://kodama.dev/schemas/workflow.schema.json",
    title: "kodama workflow",
    ...schema,
  };
}
