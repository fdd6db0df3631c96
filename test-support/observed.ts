/**
 * `rotate`, `recover` and `listKeys` as the tests call them. Every import of `@keyup/core` in a test
 * is observed by the suite-wide secret check (test-support/library-observer.ts, installed by
 * secrets-setup.ts), so these are the library's own functions; this module stays so that tests can
 * say where they expect the observation to come from.
 */
export { listKeys, recover, rotate } from "@keyup/core";
