export { type EnvAssignment, type EnvQuote, editEnv, lineEnding, parseEnv } from "./env-editor.js";
export { type EnvStore, type EnvStoreNames, type EnvStoreOptions, envStore } from "./env-store.js";
