export {
  type SecretFields,
  type SecretsManagerStore,
  type SecretsManagerStoreOptions,
  secretsManagerStore,
} from "./secrets-manager-store.js";
export {
  type RotationHandler,
  type RotationHandlerError,
  type RotationHandlerErrorCode,
  type RotationHandlerOptions,
  type RotationLogEntry,
  type SecretsManagerRotationEvent,
  type SecretsManagerRotationStep,
  createRotationHandler,
} from "./rotation-handler.js";
