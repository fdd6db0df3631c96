import type { RecordedUse } from "./last-used.js";

/**
 * Rewrites of moto's XML answers, so they say what AWS would: dates on the server's clock, keys
 * ListAccessKeys does not show yet, last use from the proxy's record. Small regular expressions over
 * moto's known output shapes, not a general XML tool.
 */

/**
 * An ISO date as IAM writes it (whole seconds).
 *
 * @example
 * ```ts
 * iamDate(Date.UTC(2026, 0, 30, 10, 15, 7, 250)); // "2026-01-30T10:15:07Z"
 * ```
 */
export function iamDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Each `<member>` of a ListAccessKeys answer: dropped when `hidden(id)`, its CreateDate replaced by
 * `createDate(id, motoDate)`.
 *
 * @example
 * ```ts
 * listAccessKeysXml(xml, (id) => keys.hiddenFromList(id, now), (id, d) => iamDate(d + offset));
 * ```
 */
export function listAccessKeysXml(xml: string, hidden: (id: string) => boolean, createDate: (id: string, motoDate: number) => string): string {
  return xml.replace(/<member>([\s\S]*?)<\/member>/g, (member: string, inner: string) => {
    const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(inner)?.[1] ?? "";
    if (hidden(id)) return "";
    return member.replace(/<CreateDate>([^<]+)<\/CreateDate>/, (_m, d: string) => `<CreateDate>${createDate(id, Date.parse(d))}</CreateDate>`);
  });
}

/**
 * A CreateAccessKey answer's key id, and the answer with its CreateDate replaced.
 *
 * @example
 * ```ts
 * const { id, xml } = createAccessKeyXml(body, iamDate(clock.modelNow()));
 * ```
 */
export function createAccessKeyXml(xml: string, createDate: string): { id: string | undefined; xml: string } {
  const id = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
  return { id, xml: xml.replace(/<CreateDate>[^<]+<\/CreateDate>/, `<CreateDate>${createDate}</CreateDate>`) };
}

/**
 * A GetAccessKeyLastUsed answer with its AccessKeyLastUsed replaced by the proxy's record: with no
 * visible use, no LastUsedDate and "N/A" for service and region, as the AccessKeyLastUsed reference
 * describes a key not used yet.
 *
 * @example
 * ```ts
 * lastUsedXml(body, uses.visible(id, clock.modelNow()));
 * ```
 */
export function lastUsedXml(xml: string, use: RecordedUse | undefined): string {
  const block = use
    ? `<AccessKeyLastUsed><LastUsedDate>${iamDate(use.date)}</LastUsedDate><ServiceName>${use.service}</ServiceName><Region>${use.region}</Region></AccessKeyLastUsed>`
    : "<AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed>";
  return xml.replace(/<AccessKeyLastUsed>[\s\S]*?<\/AccessKeyLastUsed>|<AccessKeyLastUsed\s*\/>/, block);
}
