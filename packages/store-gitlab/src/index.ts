export {
  type GitlabCurrentKey,
  type GitlabStore,
  type GitlabStoreOptions,
  type GitlabVariableNames,
  gitlabStore,
} from "./gitlab-store.js";
