import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { awsErrorXml } from "../aws-proxy.js";
import { rememberSecret } from "../secrets.js";
import { serverClock, skewRefusal } from "./clock.js";
import { keyStates, type Service } from "./key-states.js";
import { lastUseRecorder } from "./last-used.js";
import type { RealismProfile } from "./profiles.js";
import { createAccessKeyXml, iamDate, lastUsedXml, listAccessKeysXml } from "./responses.js";
import { type Session, sessionRegistry } from "./sessions.js";
import { resignedHeaders, type SignedBy, signatureMatches, signedBy } from "./sigv4.js";
import { tokenBucket } from "./throttle.js";

/** One request the realism proxy answered, for tests to look at. */
export interface RealismRequest {
  readonly action: string;
  /** The key id that signed it (`ASIA…` for a session). */
  readonly accessKeyId: string;
  readonly service: string;
  /** Model time (server clock plus skipped time) it arrived. */
  readonly at: number;
  /** The HTTP status the client got. */
  readonly status: number;
  /** The AWS error code the client got, if any, and whether it came from the proxy's model rather than moto. */
  readonly error?: string;
  readonly modelled: boolean;
}

/** An HTTP answer the proxy sends (what moto said, or what the model or a test put instead). */
export interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string | string[] | undefined>;
}

const actionIn = (body: string) => new URLSearchParams(body).get("Action") ?? "";
const INVALID_TOKEN = () => ({ status: 403, body: awsErrorXml("InvalidClientTokenId", "The security token included in the request is invalid.") });
const THROTTLED = () => ({ status: 400, body: awsErrorXml("Throttling", "Rate exceeded") });
const EXPIRED = () => ({ status: 403, body: awsErrorXml("ExpiredToken", "The security token included in the request is expired") });
const BAD_SIGNATURE = () => ({
  status: 403,
  body: awsErrorXml(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  ),
});

/**
 * A loopback proxy in front of moto that behaves the way AWS documents IAM and STS behave, where moto
 * is kinder: per-service propagation of new keys (with optional flapping), Inactive keys refused after a
 * lag, last use recorded once per window and shown late, a server clock that can be off and refuses
 * skewed requests, GetSessionToken sessions with MFA context and expiry, ListAccessKeys read-after-write
 * lag, and IAM throttling as a token bucket. Point clients (SDK `endpoint`, `aws --endpoint-url`) at
 * `url`. Behaviour changes apply from the next request (`configure`). docs/aws-behaviour.md lists each
 * behaviour and its source.
 *
 * @example
 * ```ts
 * const proxy = await startRealismProxy(motoUrl(), scaleProfile(TYPICAL_AWS, 0.1));
 * await rotate({ store, endpoint: proxy.url });
 * await proxy.close();
 * ```
 */
export async function startRealismProxy(motoUrl: string, initial: RealismProfile = {}) {
  let profile: RealismProfile = initial;
  const clock = serverClock(initial.clockOffsetMs ?? 0);
  const keys = keyStates(() => profile);
  const uses = lastUseRecorder(() => profile.lastUsed);
  const sessions = sessionRegistry();
  let bucket = profile.iamRate ? tokenBucket(profile.iamRate) : undefined;
  const requests: RealismRequest[] = [];
  const secrets = new Map<string, string>();
  const target = new URL(motoUrl);
  const sockets = new Set<Socket>();
  // While moto's authentication is off (between resetMoto and enforceMotoAuth, both of which pass through
  // here when the proxy stands in for moto's URL) a test is seeding: what it creates then stands for
  // state that existed long before, so it is neither held back nor throttled.
  let seeding = false;
  // A test's rewrite of answers after moto acted on the request: a garbled answer to a call that landed.
  let rewrite: ((action: string, answer: Answer) => Answer | undefined) | undefined;

  const forward = (method: string, path: string, headers: IncomingHttpHeaders | Record<string, string>, body: Buffer): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const up = request({ host: target.hostname, port: target.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });

  /** The secret of a long-term key, read from moto's state (sessions are signed towards moto with it). */
  const secretOf = async (keyId: string): Promise<string | undefined> => {
    const known = secrets.get(keyId);
    if (known) return known;
    const data = (await fetch(`${motoUrl}/moto-api/data.json`).then((r) => r.json())) as {
      iam?: { AccessKey?: { access_key_id: string; secret_access_key: string }[] };
    };
    for (const k of data.iam?.AccessKey ?? []) secrets.set(k.access_key_id, k.secret_access_key);
    return secrets.get(keyId);
  };

  /** What the model says about a request before moto sees it; undefined lets it through. */
  const refusal = async (req: IncomingMessage, by: SignedBy, action: string, body: string): Promise<Answer | undefined> => {
    const skew = skewRefusal(by.signedAt, clock.now(), profile.maxSkewMs ?? Number.POSITIVE_INFINITY);
    if (skew) return skew;
    const service: Service = by.service === "iam" ? "iam" : "sts";
    if (service === "iam" && bucket && !bucket.take(clock.modelNow())) return THROTTLED();
    const session = sessions.get(by.accessKeyId);
    if (by.accessKeyId.startsWith("ASIA")) {
      if (!session || session.sessionToken !== by.sessionToken) return INVALID_TOKEN();
      if (!(await signatureMatches(req.method ?? "POST", req.url ?? "/", req.headers, body, by, session))) return BAD_SIGNATURE();
      if (clock.modelNow() >= session.expiresAt) return EXPIRED();
      // STS API reference, GetSessionToken: no IAM API call unless MFA information is included; no STS
      // call but AssumeRole and GetCallerIdentity.
      if (service === "iam" && !session.mfa) return INVALID_TOKEN();
      if (service === "sts" && !["GetCallerIdentity", "AssumeRole"].includes(action)) {
        return { status: 403, body: awsErrorXml("AccessDenied", `Cannot call ${action} with session credentials`) };
      }
      if (profile.sessionEndsWithParent && keys.inactive(session.parentKeyId)) return INVALID_TOKEN();
      return undefined;
    }
    if (keys.refused(by.accessKeyId, service, clock.modelNow())) return INVALID_TOKEN();
    return undefined;
  };

  /** GetSessionToken signed by a long-term key: checked against moto's copy of the key, then minted here. */
  const getSessionToken = async (req: IncomingMessage, by: SignedBy, body: string): Promise<Answer> => {
    const secret = await secretOf(by.accessKeyId);
    if (!secret) return INVALID_TOKEN();
    if (!(await signatureMatches(req.method ?? "POST", req.url ?? "/", req.headers, body, by, { accessKeyId: by.accessKeyId, secretAccessKey: secret }))) {
      return BAD_SIGNATURE();
    }
    return sessions.mint(new URLSearchParams(body), by.accessKeyId, clock.modelNow(), {
      timeScale: profile.sessionTimeScale ?? 1,
      ...(profile.mfaCode !== undefined ? { mfaCode: profile.mfaCode } : {}),
    });
  };

  /** moto's answer, rewritten where AWS would answer differently, with the model updated by what happened. */
  const afterMoto = (action: string, by: SignedBy, params: URLSearchParams, answer: Answer, session: Session | undefined): Answer => {
    const now = clock.modelNow();
    if (answer.status < 200 || answer.status >= 300) return answer;
    const user = session ? (profile.sessionUseCountsForParent ? session.parentKeyId : undefined) : by.accessKeyId;
    if (user) uses.used(user, by.service, by.region, now);
    const shift = (motoDate: number) => iamDate(motoDate + (now - Date.now()));
    switch (action) {
      case "CreateAccessKey": {
        rememberSecret(/<SecretAccessKey>([^<]+)</.exec(answer.body)?.[1]);
        const { id, xml } = createAccessKeyXml(answer.body, iamDate(now));
        if (id) keys.created(id, now);
        return { ...answer, body: xml };
      }
      case "UpdateAccessKey":
        keys.statusChanged(params.get("AccessKeyId") ?? "", params.get("Status") ?? "", now);
        return answer;
      case "DeleteAccessKey":
        keys.deleted(params.get("AccessKeyId") ?? "", now);
        return answer;
      case "ListAccessKeys":
        return {
          ...answer,
          body: listAccessKeysXml(
            answer.body,
            (id) => keys.hiddenFromList(id, now),
            (id, motoDate) => {
              const created = keys.createdAt(id);
              return created !== undefined && Number.isFinite(created) ? iamDate(created) : shift(motoDate);
            },
          ),
        };
      case "GetAccessKeyLastUsed":
        return { ...answer, body: lastUsedXml(answer.body, uses.visible(params.get("AccessKeyId") ?? "", now)) };
      default:
        return answer;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.toString("utf8");
    const by = signedBy(req.headers);
    const send = (answer: Answer, modelled: boolean, action = "", service = "") => {
      const error = answer.status >= 400 ? /<Code>([^<]+)<\/Code>/.exec(answer.body)?.[1] : undefined;
      if (by)
        requests.push({ action, accessKeyId: by.accessKeyId, service, at: clock.modelNow(), status: answer.status, ...(error ? { error } : {}), modelled });
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(answer.headers ?? { "content-type": "text/xml" })) {
        if (v !== undefined && !["content-length", "date", "transfer-encoding", "connection"].includes(k)) headers[k] = v;
      }
      // The SDK corrects its clock from this header after a skew refusal: it must be AWS's clock.
      headers.date = new Date(clock.now()).toUTCString();
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    };
    if (!by) {
      if (req.url === "/moto-api/reset-auth") seeding = body.trim() === "inf";
      return send(await forward(req.method ?? "GET", req.url ?? "/", req.headers, raw), false);
    }
    if (seeding) return send(await forward(req.method ?? "POST", req.url ?? "/", req.headers, raw), false, actionIn(body), by.service);
    const params = new URLSearchParams(body);
    const action = params.get("Action") ?? new URL(req.url ?? "/", "http://x").searchParams.get("Action") ?? "";
    const refused = await refusal(req, by, action, body);
    if (refused) return send(refused, true, action, by.service);
    const session = sessions.get(by.accessKeyId);
    if (action === "GetSessionToken" && !session) return send(await getSessionToken(req, by, body), true, action, by.service);
    let headers: IncomingHttpHeaders | Record<string, string> = req.headers;
    if (session) {
      const secret = await secretOf(session.parentKeyId);
      if (!secret) return send(INVALID_TOKEN(), true, action, by.service);
      headers = await resignedHeaders(req.method ?? "POST", req.url ?? "/", req.headers, body, by, {
        accessKeyId: session.parentKeyId,
        secretAccessKey: secret,
      });
    }
    const answer = await forward(req.method ?? "POST", req.url ?? "/", headers, raw);
    const modelled = afterMoto(action, by, params, answer, session);
    const rewritten = rewrite?.(action, modelled);
    send(rewritten ?? modelled, rewritten !== undefined, action, by.service);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    /** Every signed request, in arrival order, with what the client got. */
    requests,
    /** The last uses the proxy recorded (visible or not yet). */
    uses,
    sessions,
    clock,
    /** The profile in force. */
    profile: () => profile,
    /** Changes what the proxy models from the next request on (a new rate limit starts with a full bucket). */
    configure(patch: RealismProfile): void {
      profile = { ...profile, ...patch };
      if (patch.clockOffsetMs !== undefined) clock.setOffset(patch.clockOffsetMs);
      if ("iamRate" in patch) bucket = patch.iamRate ? tokenBucket(patch.iamRate) : undefined;
    },
    /**
     * Replaces answers after moto acted on the request (the call landed; the client sees `fn`'s answer
     * where it returns one). `undefined` removes the hook.
     */
    rewriteAnswers(fn: ((action: string, answer: Answer) => Answer | undefined) | undefined): void {
      rewrite = fn;
    },
    /** Skips model time (lags, windows, session expiry) without moving the clock signatures are checked against. */
    advance(ms: number): void {
      clock.advance(ms);
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running realism proxy as `startRealismProxy` returns it. */
export type RealismProxy = Awaited<ReturnType<typeof startRealismProxy>>;
