import { randomBytes } from "node:crypto";
import { awsErrorXml } from "../aws-proxy.js";
import { rememberSecret } from "../secrets.js";

/** A session the proxy minted for GetSessionToken. */
export interface Session {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** The long-term key that asked for it; the proxy signs the session's calls towards moto with it. */
  readonly parentKeyId: string;
  /** Whether GetSessionToken carried an MFA code AWS accepted. */
  readonly mfa: boolean;
  /** Model time it expires. */
  readonly expiresAt: number;
}

/**
 * STS's limits for GetSessionToken called by an IAM user (STS API reference: 900 s to 129,600 s,
 * default 43,200 s).
 *
 * @example
 * ```ts
 * const seconds = Math.min(SESSION_SECONDS.max, 2 * verifySeconds + 600);
 * ```
 */
export const SESSION_SECONDS = { min: 900, max: 129_600, default: 43_200 };

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const randomId = (n: number) => Array.from(randomBytes(n), (b) => ALPHABET[b % ALPHABET.length]).join("");

/**
 * Sessions as STS hands them out for GetSessionToken: `ASIA…` credentials that expire, carry the MFA
 * context of the call that made them, and act as their parent key. moto refuses its own sessions for IAM
 * calls and asks for an `sts:GetSessionToken` permission AWS does not have, so the proxy mints them.
 *
 * @example
 * ```ts
 * const sessions = sessionRegistry();
 * const minted = sessions.mint(params, parentKeyId, clock.modelNow(), profile);
 * ```
 */
export function sessionRegistry() {
  const sessions = new Map<string, Session>();
  return {
    get: (accessKeyId: string) => sessions.get(accessKeyId),
    all: () => [...sessions.values()],
    /**
     * Answers GetSessionToken's form parameters: the minted session and its XML, or the error AWS sends.
     */
    mint(
      params: URLSearchParams,
      parentKeyId: string,
      now: number,
      options: { timeScale: number; mfaCode?: string },
    ): { session?: Session; status: number; body: string } {
      const seconds = Number(params.get("DurationSeconds") ?? SESSION_SECONDS.default);
      if (!Number.isInteger(seconds) || seconds < SESSION_SECONDS.min || seconds > SESSION_SECONDS.max) {
        const bound = seconds < SESSION_SECONDS.min ? `greater than or equal to ${SESSION_SECONDS.min}` : `less than or equal to ${SESSION_SECONDS.max}`;
        return {
          status: 400,
          body: awsErrorXml(
            "ValidationError",
            `1 validation error detected: Value '${params.get("DurationSeconds")}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${bound}`,
          ),
        };
      }
      const code = params.get("TokenCode");
      const serial = params.get("SerialNumber");
      if (code !== null || serial !== null) {
        const accepted = serial !== null && code !== null && /^\d{6}$/.test(code) && (options.mfaCode === undefined || code === options.mfaCode);
        // STS API reference: "An incorrect MFA code causes the API to return an access denied error."
        if (!accepted) return { status: 403, body: awsErrorXml("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ") };
      }
      const session: Session = {
        accessKeyId: `ASIA${randomId(16)}`,
        secretAccessKey: randomBytes(30).toString("base64"),
        sessionToken: `FwoGZXIvYXdzE${randomBytes(96).toString("base64")}`,
        parentKeyId,
        mfa: code !== null,
        expiresAt: now + seconds * 1000 * options.timeScale,
      };
      rememberSecret(session.secretAccessKey);
      rememberSecret(session.sessionToken);
      sessions.set(session.accessKeyId, session);
      const body = `<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetSessionTokenResult><Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${session.secretAccessKey}</SecretAccessKey><SessionToken>${session.sessionToken}</SessionToken><Expiration>${new Date(session.expiresAt).toISOString()}</Expiration></Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetSessionTokenResponse>`;
      return { session, status: 200, body };
    },
  };
}

/** A session registry as `sessionRegistry` returns it. */
export type SessionRegistry = ReturnType<typeof sessionRegistry>;
