import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { createStoreError, type StoreLock } from "@keyup/core";
import type { GithubApi } from "./github-api.js";

interface LockValue {
  readonly holder: string;
  readonly token: string;
  readonly expires: string;
}

function parseLock(text: string | undefined): LockValue | undefined {
  if (text === undefined) return undefined;
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

/** Who we are, as the holder other runs see: the workflow run when there is one, else pid and host. */
function describeHolder(env: NodeJS.ProcessEnv): string {
  const run = env.GITHUB_RUN_ID ? ` (workflow run ${env.GITHUB_REPOSITORY ?? ""}#${env.GITHUB_RUN_ID})` : "";
  return `pid ${process.pid} on host ${hostname()}${run}`;
}

/**
 * Takes the lock: an Actions variable that is created only if it does not exist (GitHub refuses to
 * create a variable twice), so two workflows cannot both hold it. Its value names the holder and an
 * expiry; a lock past its expiry is a dead holder's and is taken over. `release()` deletes it only if
 * it still holds our token, so a late release never frees someone else's lock.
 */
export async function acquireVariableLock(api: GithubApi, variable: string, ttlMs: number, now: () => number = Date.now): Promise<StoreLock> {
  const token = randomUUID();
  const value = (): string => JSON.stringify({ holder: describeHolder(process.env), token, expires: new Date(now() + ttlMs).toISOString() });

  if (!(await api.createVariable(variable, value()))) {
    const seen = await api.variable(variable);
    const held = parseLock(seen);
    if (seen !== undefined && (held === undefined || Date.parse(held.expires) > now())) {
      const holder = held?.holder ?? "an unknown holder";
      const until = held ? ` until ${held.expires}` : ": delete the variable by hand if no rotation is running";
      throw createStoreError("ELOCKED", `lock variable ${variable} is held by ${holder}${until}`, { holder });
    }
    // Expired (or gone since): take it over. Delete only the stale value we saw, then create; if
    // another run took it over in between, our create fails and we report it as the holder.
    if (seen !== undefined && (await api.variable(variable)) === seen) await api.deleteVariable(variable);
    if (!(await api.createVariable(variable, value()))) {
      const now2 = parseLock(await api.variable(variable));
      const holder = now2?.holder ?? "another run";
      throw createStoreError("ELOCKED", `lock variable ${variable} was just taken by ${holder}`, { holder });
    }
  }

  let released = false;
  return {
    release: async () => {
      if (released) return;
      const held = parseLock(await api.variable(variable));
      if (held?.token === token) await api.deleteVariable(variable);
      released = true;
    },
  };
}
