import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { harvestSecretText } from "./secrets.js";

/** One request that went through the proxy. */
export interface ProxiedRequest {
  /** The API action, such as `CreateAccessKey` or `GetCallerIdentity`. */
  action: string;
  /** The access key id that signed the request (from the Authorization header). */
  accessKeyId: string;
  /** Milliseconds since the proxy started. */
  at: number;
  /** The request body (form-encoded parameters for IAM and STS). Never holds a secret key: those sign, they are not sent. */
  body: string;
}

/**
 * What the proxy does with a request: forward it (undefined), answer it, reset it, never answer, or
 * forward it once `hold` settles (the request waits in the proxy, unseen by AWS, until then).
 */
export type ProxyVerdict =
  | undefined
  | { status: number; body: string; contentType?: string }
  | "reset"
  | "hang"
  | { forwardThen: "reset" | "hang" | { status: number; body: string; contentType?: string }; after?: () => void }
  | { delayMs: number }
  | { hold: Promise<unknown> };

/**
 * A loopback HTTP proxy in front of moto that records every AWS request and can inject faults.
 * Clients use its URL as their endpoint; requests are forwarded byte for byte (Host header included,
 * so SigV4 signatures still verify at moto).
 */
export async function startAwsProxy(
  target: string,
  decide: (req: ProxiedRequest) => ProxyVerdict = () => undefined,
  options: {
    /**
     * Keep client connections open as AWS does: moto answers `Connection: close`, which a proxy
     * would otherwise pass on, so every client request paid for a new connection.
     */
    readonly keepAlive?: boolean;
  } = {},
) {
  const started = Date.now();
  const requests: ProxiedRequest[] = [];
  const targetUrl = new URL(target);
  const sockets = new Set<import("node:net").Socket>();

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const info: ProxiedRequest = { action: actionOf(req, body), accessKeyId: keyIdOf(req), at: Date.now() - started, body: body.toString("utf8") };
    requests.push(info);
    const verdict = decide(info);
    if (verdict === "reset") return req.socket.destroy();
    if (verdict === "hang") return;
    if (verdict && "status" in verdict) {
      res.writeHead(verdict.status, { "content-type": verdict.contentType ?? "text/xml" });
      return res.end(verdict.body);
    }
    if (verdict && "delayMs" in verdict) await new Promise((r) => setTimeout(r, verdict.delayMs));
    if (verdict && "hold" in verdict) await verdict.hold.catch(() => undefined);
    const upstream = request({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const upChunks: Buffer[] = [];
      up.on("data", (c: Buffer) => upChunks.push(c));
      up.on("end", () => {
        // Every secret in every answer: new keys, MFA session credentials (GetSessionToken), secret values.
        harvestSecretText(Buffer.concat(upChunks).toString("utf8"));
        if (verdict && "forwardThen" in verdict) {
          // The request reached IAM; what the client sees is the injected fault.
          verdict.after?.();
          if (verdict.forwardThen === "reset") req.socket.destroy();
          else if (typeof verdict.forwardThen === "object") {
            res.writeHead(verdict.forwardThen.status, { "content-type": verdict.forwardThen.contentType ?? "text/xml" });
            res.end(verdict.forwardThen.body);
          }
          return;
        }
        const { connection: _connection, ...kept } = up.headers;
        res.writeHead(up.statusCode ?? 502, options.keepAlive ? kept : up.headers);
        res.end(Buffer.concat(upChunks));
      });
    });
    upstream.on("error", () => req.socket.destroy());
    upstream.end(body);
  });
  let connections = 0;
  server.on("connection", (socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** How many client connections the proxy has accepted so far. */
    connections: () => connections,
    /** Counts of each action seen so far. */
    counts(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const r of requests) out[r.action] = (out[r.action] ?? 0) + 1;
      return out;
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The XML error body IAM and STS send, so the SDK parses an injected fault as the real thing. */
export function awsErrorXml(code: string, message = code): string {
  return `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
}

function actionOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") return target.split(".").pop() ?? target;
  const fromBody = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString("utf8"))?.[1];
  if (fromBody) return fromBody;
  return /[?&]Action=([A-Za-z]+)/.exec(req.url ?? "")?.[1] ?? `${req.method} ${req.url}`;
}

function keyIdOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? "";
  return /Credential=([^/]+)\//.exec(auth)?.[1] ?? "";
}
