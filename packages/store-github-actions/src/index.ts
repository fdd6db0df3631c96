export {
  type CurrentKey,
  type GithubActionsStore,
  type GithubActionsStoreOptions,
  type GithubSecretNames,
  githubActionsStore,
} from "./github-actions-store.js";
