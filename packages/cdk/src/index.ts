export { checkRetireOld, RETIRE_OLD_VALUES, type RetireOld } from "./retire-old.js";
export { handlerBundleDir, RotatedAccessKey, type RotatedAccessKeyProps } from "./rotated-access-key.js";
