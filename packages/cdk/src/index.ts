export { checkRetireOld, type RetireOld, SUPPORTED_RETIRE_OLD } from "./retire-old.js";
export { handlerBundleDir, RotatedAccessKey, type RotatedAccessKeyProps } from "./rotated-access-key.js";
