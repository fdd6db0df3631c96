export {
  createRotationHandler,
  type RetireOldPolicy,
  type RotationContext,
  type RotationHandler,
  type RotationHandlerError,
  type RotationHandlerErrorCode,
  type RotationHandlerOptions,
  type RotationLogEntry,
  type SecretsManagerRotationEvent,
  type SecretsManagerRotationStep,
} from "./rotation-handler.js";
export {
  type SecretFields,
  type SecretsManagerStore,
  type SecretsManagerStoreOptions,
  secretsManagerStore,
} from "./secrets-manager-store.js";
