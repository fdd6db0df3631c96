import { awsErrorXml } from "../aws-proxy.js";

/**
 * The server's clock. `now()` is what AWS's clock reads (the machine's plus an offset); `modelNow()` also
 * includes time a test skipped with `advance()`, and is the time every lag, window and expiry is measured
 * in. Signatures are checked against `now()` only, so skipping time never makes a request look skewed.
 *
 * @example
 * ```ts
 * const clock = serverClock(10 * 60_000); // AWS's clock is 10 minutes ahead of this machine
 * clock.advance(15 * 60_000); // a test skips a last-used window
 * ```
 */
export function serverClock(offsetMs = 0) {
  let offset = offsetMs;
  let skipped = 0;
  return {
    now: () => Date.now() + offset,
    modelNow: () => Date.now() + offset + skipped,
    setOffset(ms: number) {
      offset = ms;
    },
    advance(ms: number) {
      skipped += ms;
    },
  };
}

/** A server clock as `serverClock` returns it. */
export type ServerClock = ReturnType<typeof serverClock>;

/**
 * A time as SigV4 writes dates.
 *
 * @example
 * ```ts
 * amzDate(Date.UTC(2026, 0, 30, 10, 15)); // "20260130T101500Z"
 * ```
 */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/**
 * Milliseconds from a SigV4 date, or undefined when it is not one.
 *
 * @example
 * ```ts
 * parseAmzDate("20260130T101500Z"); // Date.UTC(2026, 0, 30, 10, 15)
 * ```
 */
export function parseAmzDate(text: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? "");
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * The refusal IAM and STS send for a request signed too far from their clock: `SignatureDoesNotMatch`
 * (HTTP 403) with "Signature expired: … is now earlier than … (… - 5 min.)" or "Signature not yet
 * current: … is still later than … (… + 5 min.)", the texts quoted in aws/aws-sdk-js#265 and
 * serverless/enterprise#11. Undefined when the request is within `maxSkewMs`.
 *
 * @example
 * ```ts
 * const refusal = skewRefusal(parseAmzDate(headers["x-amz-date"]), clock.now(), 5 * 60_000);
 * ```
 */
export function skewRefusal(signedAt: number | undefined, serverNow: number, maxSkewMs: number): { status: number; body: string } | undefined {
  if (signedAt === undefined) return undefined;
  const minutes = Math.round(maxSkewMs / 60_000);
  // SigV4 dates have whole seconds: compare at that resolution, as the message does.
  const now = Math.floor(serverNow / 1000) * 1000;
  if (signedAt < now - maxSkewMs) {
    const message = `Signature expired: ${amzDate(signedAt)} is now earlier than ${amzDate(now - maxSkewMs)} (${amzDate(now)} - ${minutes} min.)`;
    return { status: 403, body: awsErrorXml("SignatureDoesNotMatch", message) };
  }
  if (signedAt > now + maxSkewMs) {
    const message = `Signature not yet current: ${amzDate(signedAt)} is still later than ${amzDate(now + maxSkewMs)} (${amzDate(now)} + ${minutes} min.)`;
    return { status: 403, body: awsErrorXml("SignatureDoesNotMatch", message) };
  }
  return undefined;
}
