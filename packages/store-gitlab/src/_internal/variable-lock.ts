import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { createStoreError, type StoreLock } from "@keyup/core";
import type { GitlabApi } from "./gitlab-api.js";

interface LockValue {
  readonly holder: string;
  readonly token: string;
  readonly expires: string;
}

function parseLock(text: string | null | undefined): LockValue | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const value = JSON.parse(text) as Partial<LockValue>;
    if (typeof value.holder === "string" && typeof value.token === "string" && typeof value.expires === "string") {
      return { holder: value.holder, token: value.token, expires: value.expires };
    }
  } catch {
    // Not ours, or edited by hand: treated as held by someone unknown below.
  }
  return undefined;
}

/** Who we are, as the holder other runs see: the GitLab job when there is one, else pid and host. */
function describeHolder(env: NodeJS.ProcessEnv): string {
  const job = env.CI_JOB_ID ? ` (GitLab job ${env.CI_PROJECT_PATH ?? ""}#${env.CI_JOB_ID})` : "";
  return `pid ${process.pid} on host ${hostname()}${job}`;
}

/**
 * Takes the lock: a CI/CD variable created with POST, which GitLab refuses (400, "has already been
 * taken") when it exists, so two jobs cannot both hold it. Its value names the holder and an expiry;
 * a keyup lock past its expiry is a dead holder's and is taken over, anything else is never touched.
 * `release()` deletes it only if it still holds our token, so a late release never frees someone
 * else's lock.
 */
export async function acquireVariableLock(api: GitlabApi, variable: string, ttlMs: number, now: () => number = Date.now): Promise<StoreLock> {
  const token = randomUUID();
  const value = (): string => JSON.stringify({ holder: describeHolder(process.env), token, expires: new Date(now() + ttlMs).toISOString() });
  // Not masked (the value holds no secret and is JSON, which GitLab cannot mask) and not protected,
  // so a job on any branch that rotates sees the same lock.
  const flags = { variable_type: "env_var", protected: false, masked: false, raw: true, description: "keyup rotation lock" } as const;

  if (!(await api.create(variable, value(), flags))) {
    const seen = (await api.get(variable))?.value;
    const held = parseLock(seen);
    if (seen !== undefined && (held === undefined || Date.parse(held.expires) > now())) {
      const holder = held?.holder ?? "an unknown holder";
      const until = held ? ` until ${held.expires}` : ": delete the variable by hand if no rotation is running";
      throw createStoreError("ELOCKED", `lock variable ${variable} is held by ${holder}${until}`, { holder });
    }
    // Expired (or gone since): take it over. Delete only the stale value we saw, then create; if
    // another run took it over in between, our create fails and we report it as the holder.
    if (seen !== undefined && (await api.get(variable))?.value === seen) await api.remove(variable);
    if (!(await api.create(variable, value(), flags))) {
      const now2 = parseLock((await api.get(variable))?.value);
      const holder = now2?.holder ?? "another run";
      throw createStoreError("ELOCKED", `lock variable ${variable} was just taken by ${holder}`, { holder });
    }
  }

  let released = false;
  return {
    release: async () => {
      if (released) return;
      const held = parseLock((await api.get(variable))?.value);
      if (held?.token === token) await api.remove(variable);
      released = true;
    },
  };
}
