import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";

/**
 * The credentials file the AWS CLI and SDKs would use: `AWS_SHARED_CREDENTIALS_FILE`, else
 * `~/.aws/credentials`; a leading `~` means the home folder, as in the SDKs.
 */
export function credentialsPath(path: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = path ?? (env.AWS_SHARED_CREDENTIALS_FILE || undefined) ?? join(homedir(), ".aws", "credentials");
  return resolve(expandHome(chosen));
}

function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/") || path.startsWith(`~${sep}`)) return join(homedir(), path.slice(2));
  return path;
}

/**
 * A file of keyup's next to the credentials file, one per profile (`<path>.keyup-<kind>.<profile>`),
 * so that rotations of different profiles of one file do not overwrite each other's backup or
 * journal. The profile name is percent-encoded (injectively) so that it cannot escape the folder or
 * collide with another profile's name.
 */
export function besidePath(path: string, kind: "backup" | "journal", profile: string): string {
  const safe = Array.from(new TextEncoder().encode(profile), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9._-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
  return `${path}.keyup-${kind}.${safe}`;
}
