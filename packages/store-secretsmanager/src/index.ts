export {
  type SecretFields,
  type SecretsManagerStore,
  type SecretsManagerStoreOptions,
  secretsManagerStore,
} from "./secrets-manager-store.js";
