export * from "./color.ts";
export * from "./table.ts";
export * from "./sink.ts";
