import { readFile } from "node:fs/promises";
import type { KeyupError } from "@keyup/core";
import { listProfiles } from "@keyup/store-ini";
import type { CliArgs } from "./args.js";
import { credentialsPathOf } from "./stores.js";

/**
 * The profiles a fleet command works on: every `--profile` given (each once), or with
 * `--all-profiles` every profile of the credentials file that holds a long-term key, found with the
 * store's own parser so that the list and the rotation read the file the same way.
 */
export async function fleetProfiles(args: CliArgs): Promise<{ path: string; profiles: string[] } | { error: KeyupError }> {
  const path = credentialsPathOf(args);
  if (!args.allProfiles) return { path, profiles: [...new Set(args.profiles)] };
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return { error: { kind: "store", store: `ini:${path}`, code: "ENOTFOUND", message: `cannot read ${path}: ${(error as Error).message}` } };
  }
  // Profiles holding a long-term key; temporary credentials (a session token) cannot be rotated.
  const profiles = listProfiles(text, { holdingKey: true });
  if (profiles.length === 0) return { error: { kind: "config", message: `no profile in ${path} holds an access key` } };
  return { path, profiles };
}
