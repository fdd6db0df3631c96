import type * as Core from "@keyup/core";
import type * as AwsPortModule from "../packages/core/src/aws-port.js";
import type * as SecretsManagerModule from "../packages/store-secretsmanager/src/index.js";
import { captureOutput, captureValue, rememberSecret } from "./secrets.js";

/**
 * The library as every test sees it: test-support/secrets-setup.ts mocks `@keyup/core`, the AWS port
 * module and `@keyup/store-secretsmanager` with these wrappers, so no test can call keyup past the
 * secret check. Each wrapper calls the real function and, on the side, captures what a caller sees
 * (events, logger lines, handler log lines, results, errors) and remembers every secret that passes
 * through a store or an AWS answer, mocked or not.
 */

type AnyFn = (...args: never[]) => unknown;

/** A store that remembers every key pair read from it or written to it; everything else passes through. */
function observedStore<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "read" && typeof value === "function") {
        return async () => {
          const pair = (await value.call(target)) as Core.AccessKeyPair | undefined;
          rememberSecret(pair?.secretAccessKey);
          return pair;
        };
      }
      if (prop === "write" && typeof value === "function") {
        return (pair: Core.AccessKeyPair) => {
          rememberSecret(pair?.secretAccessKey);
          return value.call(target, pair);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** An AWS port that remembers every secret in its answers (new keys, MFA session credentials). */
function observedPort(port: AwsPortModule.AwsPort): AwsPortModule.AwsPort {
  return {
    ...port,
    createAccessKey: async (...args) => {
      const pair = await port.createAccessKey(...args);
      rememberSecret(pair.secretAccessKey);
      return pair;
    },
    getSessionToken: async (...args) => {
      const session = await port.getSessionToken(...args);
      rememberSecret(session.secretAccessKey);
      return session;
    },
  };
}

/** Tees a logger: every line it gets is captured, then passed on. */
function observedLogger(name: string, logger: Core.KeyupLogger | undefined): Core.KeyupLogger {
  const tee =
    (level: keyof Core.KeyupLogger) =>
    (message: string): void => {
      captureOutput(`${name} logger.${level}`, String(message), "logger");
      logger?.[level](message);
    };
  return { debug: tee("debug"), info: tee("info"), warn: tee("warn"), error: tee("error") };
}

/**
 * The options every keyup operation takes, observed: store(s), AWS port, events and logger. Anything
 * of the wrong type is passed on untouched, so keyup's own option checks see exactly what the test gave.
 */
function observedOptions(name: string, options: unknown): unknown {
  if (typeof options !== "object" || options === null) return options;
  const o = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...o };
  if (o.store && typeof o.store === "object") out.store = observedStore(o.store);
  if (Array.isArray(o.stores)) out.stores = o.stores.map((s: unknown) => (s && typeof s === "object" ? observedStore(s) : s));
  if (o.aws && typeof o.aws === "object") out.aws = observedPort(o.aws as AwsPortModule.AwsPort);
  if (o.oldKey && typeof o.oldKey === "object") rememberSecret((o.oldKey as Core.AccessKeyPair).secretAccessKey);
  if (o.credentials && typeof o.credentials === "object") rememberSecret((o.credentials as { secretAccessKey?: string }).secretAccessKey);
  const logger = o.logger as Core.KeyupLogger | undefined;
  if (logger === undefined || (typeof logger === "object" && logger !== null)) out.logger = observedLogger(name, logger);
  const onEvent = o.onEvent;
  if (onEvent === undefined || typeof onEvent === "function") {
    // Every argument passed on: rotateMany's onEvent also names the store.
    out.onEvent = (e: unknown, ...rest: unknown[]) => {
      captureValue(`${name} event`, e, "event");
      (onEvent as ((e: unknown, ...rest: unknown[]) => void) | undefined)?.(e, ...rest);
    };
  }
  const onResult = o.onResult;
  if (name === "rotateMany" && (onResult === undefined || typeof onResult === "function")) {
    out.onResult = (r: unknown) => {
      captureValue(`${name} onResult`, r, "result");
      (onResult as ((r: unknown) => void) | undefined)?.(r);
    };
  }
  return out;
}

/** Wraps an operation that returns a ResultAsync: observed options in, captured result out. */
function observedOperation<F extends AnyFn>(name: string, fn: F, ResultAsync: typeof import("neverthrow").ResultAsync): F {
  const wrapped = (options: unknown, ...rest: unknown[]) => {
    const result = (fn as unknown as (...a: unknown[]) => PromiseLike<{ isOk(): boolean; value?: unknown; error?: unknown }>)(
      observedOptions(name, options),
      ...rest,
    );
    return new ResultAsync(
      Promise.resolve(result).then((r) => {
        captureValue(`${name} result`, r.isOk() ? r.value : r.error, "result");
        return r as never;
      }),
    );
  };
  return wrapped as unknown as F;
}

/**
 * `@keyup/core` with its operations observed.
 *
 * @example
 * ```ts
 * vi.mock("@keyup/core", async (original) => observeCore(await original(), (await import("neverthrow")).ResultAsync));
 * ```
 */
export function observeCore(core: typeof Core, ResultAsync: typeof import("neverthrow").ResultAsync): typeof Core {
  return {
    ...core,
    rotate: observedOperation("rotate", core.rotate, ResultAsync),
    recover: observedOperation("recover", core.recover, ResultAsync),
    plan: observedOperation("plan", core.plan, ResultAsync),
    listKeys: observedOperation("listKeys", core.listKeys, ResultAsync),
    cleanup: observedOperation("cleanup", core.cleanup, ResultAsync),
    rotateMany: observedOperation("rotateMany", core.rotateMany, ResultAsync),
    pendingRotations: observedOperation("pendingRotations", core.pendingRotations, ResultAsync),
    memoryStore: (options = {}) => {
      rememberSecret(options.initial?.secretAccessKey);
      return observedStore(core.memoryStore(options));
    },
    createAwsPort: (options) => observedPort(core.createAwsPort(options)),
  };
}

/**
 * The AWS port module with its factory observed, so calls from inside core (which import it by path,
 * not through `@keyup/core`) are observed too.
 *
 * @example
 * ```ts
 * vi.mock("../packages/core/src/aws-port.ts", async (original) => observeAwsPortModule(await original()));
 * ```
 */
export function observeAwsPortModule(mod: typeof AwsPortModule): typeof AwsPortModule {
  return { ...mod, createAwsPort: (options) => observedPort(mod.createAwsPort(options)) };
}

/**
 * `@keyup/store-secretsmanager` with the rotation handler's log lines captured (whether the test
 * passes its own `log` or the handler prints JSON lines to the console).
 *
 * @example
 * ```ts
 * vi.mock("@keyup/store-secretsmanager", async (original) => observeSecretsManager(await original()));
 * ```
 */
export function observeSecretsManager(mod: typeof SecretsManagerModule): typeof SecretsManagerModule {
  return {
    ...mod,
    createRotationHandler: (options = {}) => {
      const log = options.log;
      return mod.createRotationHandler({
        ...options,
        ...(options.aws ? { aws: observedPort(options.aws) } : {}),
        log: (entry) => {
          captureValue(`rotation handler log ${entry.step}`, entry, "handler-log");
          if (log) log(entry);
          else console.log(JSON.stringify(entry));
        },
      });
    },
  };
}
