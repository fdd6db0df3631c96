/**
 * keyup's one notice for library users on Node.js 20. The AWS SDK prints its own on Node 20 (its
 * releases from January 2027 require Node 22), from deep inside the first client a keyup call builds:
 * a user cannot tell which dependency spoke or what to do. keyup says it once, in its own words, and
 * then silences the SDK's duplicate. Whoever has already silenced the SDK's notice (the `keyup` CLI
 * does; so can any program, with AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true) gets neither.
 */

/** The `code` of the notice, for `node --disable-warning=KEYUP_NODE_20` or a `process.on("warning")` filter. */
export const NODE_20_NOTICE_CODE = "KEYUP_NODE_20";

const SDK_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

let given = false;

/**
 * Emits the notice once per process when running on Node.js older than 22. Called before keyup builds
 * its first AWS client, so that the SDK's own notice is already silenced then.
 *
 * @example
 * ```ts
 * noticeNode20(); // on Node 20: one "KEYUP_NODE_20" warning; later calls and other lines: nothing
 * ```
 */
export function noticeNode20(version: string = process.versions.node, env: NodeJS.ProcessEnv = process.env): void {
  if (given) return;
  given = true;
  if (Number(version.split(".")[0]) >= 22 || env[SDK_SWITCH] === "true") return;
  process.emitWarning(
    `keyup supports Node.js ${version} (the 20 line) for now, but the AWS SDK releases keyup depends on require Node.js 22 from January 2027: plan a move to Node.js 22 or 24. This notice replaces the AWS SDK's own; ${SDK_SWITCH}=true turns both off.`,
    { type: "KeyupNodeVersionNotice", code: NODE_20_NOTICE_CODE },
  );
  env[SDK_SWITCH] = "true";
}
