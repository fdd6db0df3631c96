import { openMfaSession, type SigningCredentials } from "@keyup/core";
import type { CliArgs } from "./args.js";
import type { CliIo } from "./cli-io.js";
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";
import { awsOptions } from "./flags.js";
import { failWith } from "./output.js";
import { type BuiltStore, secretsOnly } from "./stores.js";

/**
 * The MFA session for this run, when the profile has an `mfa_serial` (for a role profile: the key's
 * profile's, else the role profile's): the code comes from --mfa-code or a prompt on a terminal. With
 * --auto and no code, the run stops here, before anything is created.
 */
export async function mfaCredentials(args: CliArgs, io: CliIo, built: BuiltStore): Promise<{ credentials?: SigningCredentials } | { exit: ExitCodeValue }> {
  // With only secrets, --profile signs the Secrets Manager calls; IAM is signed by the secret's key,
  // which the profile's mfa_serial has nothing to do with.
  if (secretsOnly(args)) return {};
  const { store } = built;
  const serialNumber = built.resolved?.mfaSerial;
  if (!serialNumber) return {};
  let code = args.mfaCode;
  if (!code) {
    if (args.auto || !io.interactive || !io.ask) {
      io.stderr(
        `keyup: error: profile ${args.profile} requires MFA (mfa_serial ${serialNumber}): pass --mfa-code with the current code${args.auto ? " (--auto cannot prompt)" : ""}; nothing was changed\n`,
      );
      return { exit: ExitCode.Usage };
    }
    code = (await io.ask(`MFA code for ${serialNumber}: `)).trim();
  }
  const fixed = code;
  // Sized for this run's verify timeout: the session signs the rollback too, and cannot be renewed.
  const session = await openMfaSession({
    store,
    ...awsOptions(args),
    mfa: { serialNumber, tokenCode: async () => fixed },
    ...(args.verifyTimeoutSeconds !== undefined ? { verifyTimeoutMs: args.verifyTimeoutSeconds * 1000 } : {}),
  });
  if (session.isErr()) return { exit: failWith(io, session.error) };
  return { credentials: session.value };
}
