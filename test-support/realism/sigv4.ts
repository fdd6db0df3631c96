import { createHash, createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { parseAmzDate } from "./clock.js";

/** What a SigV4 Authorization header says. */
export interface SignedBy {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** When the client signed it (X-Amz-Date), in ms. */
  readonly signedAt?: number;
  readonly sessionToken?: string;
}

/**
 * Reads the SigV4 Authorization header of a request, or undefined when it has none (moto's own API).
 *
 * @example
 * ```ts
 * const by = signedBy(req.headers); // { accessKeyId: "AKIA…", service: "iam", … }
 * ```
 */
export function signedBy(headers: IncomingHttpHeaders): SignedBy | undefined {
  const m = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)/.exec(headers.authorization ?? "");
  if (!m) return undefined;
  const token = headers["x-amz-security-token"];
  const signedAt = parseAmzDate(String(headers["x-amz-date"] ?? ""));
  return {
    accessKeyId: m[1] ?? "",
    region: m[2] ?? "",
    service: m[3] ?? "",
    signedHeaders: (m[4] ?? "").split(";"),
    signature: m[5] ?? "",
    ...(signedAt !== undefined ? { signedAt } : {}),
    ...(typeof token === "string" ? { sessionToken: token } : {}),
  };
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the smithy signer takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === "string" ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

function requestOf(method: string, url: string, headers: Record<string, string>, body: string): HttpRequest {
  const parsed = new URL(url, `http://${headers.host ?? "localhost"}`);
  const query: Record<string, string> = {};
  for (const [k, v] of parsed.searchParams) query[k] = v;
  return new HttpRequest({
    method,
    protocol: "http:",
    hostname: parsed.hostname,
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    path: parsed.pathname,
    query,
    headers,
    body,
  });
}

async function sign(request: HttpRequest, by: { region: string; service: string }, credentials: Credentials, at: Date): Promise<HttpRequest> {
  const signer = new SignatureV4({ service: by.service, region: by.region, credentials, sha256: NodeSha256, applyChecksum: false });
  return (await signer.sign(request, { signingDate: at })) as HttpRequest;
}

/**
 * True when the request's signature is the one `credentials` make: the proxy checks session requests
 * itself, because moto does not know the sessions it mints.
 *
 * @example
 * ```ts
 * if (!(await signatureMatches(req.method, req.url, req.headers, body, by, session))) refuse();
 * ```
 */
export async function signatureMatches(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: string,
  by: SignedBy,
  credentials: Credentials,
): Promise<boolean> {
  if (by.signedAt === undefined) return false;
  const signed: Record<string, string> = {};
  for (const name of by.signedHeaders) signed[name] = String(headers[name] ?? "");
  // The signer adds its own date and token headers; give it the ones the client signed.
  const { "x-amz-date": _date, "x-amz-security-token": _token, ...rest } = signed;
  const again = await sign(requestOf(method, url, rest, body), by, credentials, new Date(by.signedAt));
  const signature = /Signature=([0-9a-f]+)/.exec(String(again.headers.authorization ?? ""))?.[1];
  return signature === by.signature;
}

/**
 * The request's headers re-signed by `credentials` now (no session token), for forwarding to moto as
 * the session's parent key.
 *
 * @example
 * ```ts
 * const headers = await resignedHeaders(req.method, req.url, req.headers, body, by, parentKey);
 * ```
 */
export async function resignedHeaders(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: string,
  by: SignedBy,
  credentials: Credentials,
): Promise<Record<string, string>> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || ["authorization", "x-amz-security-token", "x-amz-date", "connection"].includes(name)) continue;
    kept[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const again = await sign(requestOf(method, url, kept, body), by, credentials, new Date());
  return again.headers;
}
