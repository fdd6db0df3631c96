export * from "./credential-store.js";
export * from "./errors.js";
export * from "./memory-store.js";
export type * from "./report.js";
