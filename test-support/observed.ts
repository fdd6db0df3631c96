import {
  type AccessKeyInfo,
  listKeys as coreListKeys,
  recover as coreRecover,
  rotate as coreRotate,
  type KeyupError,
  type RecoverOptions,
  type RotateOptions,
  type RotationError,
  type RotationReport,
} from "@keyup/core";
import type { Result } from "neverthrow";
import { captureValue } from "./secrets.js";

/**
 * `rotate`, `recover` and `listKeys` as the tests call them: every progress event, report and error they
 * produce is captured for the suite-wide secret check.
 */
export async function rotate(options: RotateOptions): Promise<Result<RotationReport, RotationError>> {
  const result = await coreRotate({
    ...options,
    onEvent: (e) => {
      captureValue("rotate event", e);
      options.onEvent?.(e);
    },
  });
  captureValue("rotate result", result.isOk() ? result.value : result.error);
  return result;
}

export async function recover(options: RecoverOptions): Promise<Result<RotationReport | null, RotationError>> {
  const result = await coreRecover({
    ...options,
    onEvent: (e) => {
      captureValue("recover event", e);
      options.onEvent?.(e);
    },
  });
  captureValue("recover result", result.isOk() ? result.value : result.error);
  return result;
}

export async function listKeys(options: Parameters<typeof coreListKeys>[0]): Promise<Result<AccessKeyInfo[], KeyupError>> {
  const result = await coreListKeys(options);
  captureValue("listKeys result", result.isOk() ? result.value : result.error);
  return result;
}
