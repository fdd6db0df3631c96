import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { envStore } from "@keyup/store-env";
import { iniStore } from "@keyup/store-ini";
import { secretsManagerStore } from "@keyup/store-secretsmanager";
import { credentialsText, type EmulatorKey, ROTATION_POLICY, seedUser } from "../test-support/emulator.js";
import { startMotoRotation } from "../test-support/rotation-start.js";

/**
 * How each example runs against the local emulator with no AWS account: what `examples/run.ts` seeds
 * into moto and a throwaway folder before it starts the example, and what it reads afterwards to show
 * the effect. Every line these produce names key ids, never a secret.
 */

/** The examples folder: the scripts run from here, with its tsx. */
export const EXAMPLES_DIR = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(EXAMPLES_DIR, "..");
const TSX = join(EXAMPLES_DIR, "node_modules", ".bin", "tsx");
const REGION = "us-east-1";

/**
 * What the multi-store example's user needs: its own key rotation, plus the Secrets Manager calls of
 * `secretsManagerStore` (the secret, and the `<name>.keyup-lock` companion secret it locks with).
 */
export const MULTI_STORE_POLICY = {
  ...ROTATION_POLICY,
  Statement: [
    ...ROTATION_POLICY.Statement,
    {
      Effect: "Allow",
      Action: [
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:DescribeSecret",
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteSecret",
      ],
      Resource: "*",
    },
  ],
};

/** What template.yaml grants the rotation Lambda's role: Secrets Manager on the secret, no IAM at all. */
export const LAMBDA_ROLE_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
      ],
      Resource: "*",
    },
  ],
};

/** The emulator and folder an example is prepared in. */
export interface LocalContext {
  /** moto's URL; authentication is off while preparing. */
  readonly url: string;
  /** The throwaway folder (mode 0700); files written there hold secrets, so mode 0600. */
  readonly dir: string;
  /** An administrator key, for seeding secrets and for looking at them afterwards. */
  readonly admin: EmulatorKey;
}

/** A place that holds a key, and how to read which key id it holds. */
export interface KeyHolder {
  readonly name: string;
  keyId(): Promise<string | undefined>;
}

/** An example, seeded and ready to start. */
export interface PreparedRun {
  /** What was seeded, one line each: users, key ids, files, secrets. */
  readonly seeded: readonly string[];
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The example's own settings: passed to it and shown. */
  readonly env: Readonly<Record<string, string>>;
  /** Passed to it but never shown (the Lambda role's credentials). */
  readonly hiddenEnv?: Readonly<Record<string, string>>;
  /** IAM users whose keys are listed before and after. */
  readonly users: readonly string[];
  /** The places whose key id is shown after the run. */
  readonly holders: readonly KeyHolder[];
  /**
   * A second run of the same command, for an example whose effect shows only over two runs (the
   * rotation Lambda retires a replaced key at the next rotation). Called after the first run exits 0
   * and its keys are shown; what it returns is shown, then the command runs again with `env` replaced.
   */
  readonly again?: () => Promise<{ readonly seeded: string; readonly env: Readonly<Record<string, string>> }>;
}

/** One example as `pnpm example <name>` runs it. */
export interface LocalRun {
  /** One line for the list of examples. */
  readonly summary: string;
  prepare(context: LocalContext): Promise<PreparedRun>;
}

/** The credentials file every run points AWS_SHARED_CREDENTIALS_FILE at. */
export function credentialsFile(dir: string): string {
  return join(dir, "credentials");
}

/** A user with exactly one key, which it returns. */
async function oneKeyUser(url: string, userName: string, policy?: object): Promise<EmulatorKey> {
  const [key] = (await seedUser(url, userName, policy ? { policy } : {})).keys;
  if (!key) throw new Error(`the emulator made no key for ${userName}`);
  return key;
}

function secretsClient({ url, admin }: LocalContext): SecretsManagerClient {
  return new SecretsManagerClient({ region: REGION, endpoint: url, credentials: admin, maxAttempts: 1 });
}

/** Creates a secret holding `key` and one other field; returns its ARN. */
async function seedSecret(context: LocalContext, name: string, key: EmulatorKey): Promise<string> {
  const SecretString = JSON.stringify({ AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey, owner: "app-team" });
  const created = await secretsClient(context).send(new CreateSecretCommand({ Name: name, SecretString }));
  return created.ARN ?? name;
}

function profileHolder(dir: string, profile: string): KeyHolder {
  const store = iniStore({ profile, path: credentialsFile(dir) });
  return { name: store.name, keyId: async () => (await store.read())?.accessKeyId };
}

function secretHolder(context: LocalContext, secretId: string): KeyHolder {
  const store = secretsManagerStore({ secretId, endpoint: context.url, region: REGION, credentials: context.admin });
  return { name: store.name, keyId: async () => (await store.read())?.accessKeyId };
}

/** Every example, by the name `pnpm example <name>` takes (its folder). */
export const LOCAL_RUNS: Readonly<Record<string, LocalRun>> = {
  "ci-rotate": {
    summary: "a CI job's script calling rotate() on one credentials-file profile",
    async prepare({ url, dir }) {
      const key = await oneKeyUser(url, "ci-bot");
      await writeFile(credentialsFile(dir), credentialsText("throwaway credentials for the ci-rotate example", [{ name: "ci", key }]), { mode: 0o600 });
      return {
        seeded: [`IAM user ci-bot with key ${key.accessKeyId}`, `${credentialsFile(dir)}: profile [ci] holding it`],
        command: TSX,
        args: ["ci-rotate/rotate.ts"],
        cwd: EXAMPLES_DIR,
        env: { KEYUP_PROFILE: "ci" },
        users: ["ci-bot"],
        holders: [profileHolder(dir, "ci")],
      };
    },
  },

  "multi-store": {
    summary: "one user's key rotated into a credentials profile, a .env file and a Secrets Manager secret at once",
    async prepare(context) {
      const { url, dir } = context;
      const key = await oneKeyUser(url, "app", MULTI_STORE_POLICY);
      const dotenv = join(dir, ".env");
      await writeFile(credentialsFile(dir), credentialsText("throwaway credentials for the multi-store example", [{ name: "app", key }]), { mode: 0o600 });
      await writeFile(dotenv, `# app settings\nAPP_MODE=production\nAWS_ACCESS_KEY_ID=${key.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${key.secretAccessKey}\n`, {
        mode: 0o600,
      });
      await seedSecret(context, "app/aws-key", key);
      return {
        seeded: [
          `IAM user app with key ${key.accessKeyId}`,
          `${credentialsFile(dir)}: profile [app] holding it`,
          `${dotenv}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY holding it`,
          "Secrets Manager secret app/aws-key holding it as JSON",
        ],
        command: TSX,
        args: ["multi-store/rotate.ts"],
        cwd: EXAMPLES_DIR,
        env: { KEYUP_PROFILE: "app", KEYUP_ENV_FILE: dotenv, KEYUP_SECRET_ID: "app/aws-key" },
        users: ["app"],
        holders: [
          profileHolder(dir, "app"),
          { name: `env:${dotenv}`, keyId: async () => (await envStore({ path: dotenv }).read())?.accessKeyId },
          secretHolder(context, "app/aws-key"),
        ],
      };
    },
  },

  fleet: {
    summary: "every profile of one credentials file rotated with rotateMany(), a few at a time, with a result table",
    async prepare({ url, dir }) {
      const users = ["web", "worker", "reports", "deploy"];
      const keys = new Map<string, EmulatorKey>();
      for (const user of users) keys.set(user, await oneKeyUser(url, user));
      const deploy = keys.get("deploy") as EmulatorKey;
      // Two profiles holding one key: the fleet rotates it once and installs the new key into both.
      const profiles = [...[...keys].map(([name, key]) => ({ name, key })), { name: "deploy-copy", key: deploy }];
      await writeFile(credentialsFile(dir), credentialsText("throwaway credentials for the fleet example", profiles), { mode: 0o600 });
      return {
        seeded: [
          ...users.map((user) => `IAM user ${user} with key ${keys.get(user)?.accessKeyId}`),
          `${credentialsFile(dir)}: profiles ${profiles.map((p) => `[${p.name}]`).join(" ")} ([deploy-copy] shares deploy's key)`,
        ],
        command: TSX,
        args: ["fleet/rotate.ts"],
        cwd: EXAMPLES_DIR,
        env: { KEYUP_CONCURRENCY: "3" },
        users,
        holders: profiles.map((p) => profileHolder(dir, p.name)),
      };
    },
  },

  "custom-store": {
    summary: "a JSON-file CredentialStore proven by the conformance suite, and rotate() through it (its vitest files)",
    async prepare({ url }) {
      return {
        seeded: ["nothing: the tests create their own users and files"],
        command: join(ROOT, "node_modules", ".bin", "vitest"),
        args: ["run", "examples/custom-store"],
        cwd: ROOT,
        // The tests seed their own users and files; the test run's global setup uses this emulator instead of starting one.
        env: { KEYUP_TEST_MOTO_URL: url },
        users: [],
        holders: [],
      };
    },
  },

  "secretsmanager-rotation-lambda": {
    summary: "the Secrets Manager rotation Lambda's handler, invoked locally through its four steps",
    async prepare(context) {
      const { url } = context;
      const key = await oneKeyUser(url, "app");
      const role = await oneKeyUser(url, "rotation-function-role", LAMBDA_ROLE_POLICY);
      const arn = await seedSecret(context, "app/iam-key", key);
      // Secrets Manager starts every rotation with RotateSecret, which labels the token's version AWSPENDING.
      const token = await startMotoRotation(url, arn);
      return {
        seeded: [
          `IAM user app with key ${key.accessKeyId}`,
          `Secrets Manager secret app/iam-key holding it as JSON (${arn})`,
          `a rotation of it started with RotateSecret (token ${token}), as Secrets Manager starts one`,
          `IAM user rotation-function-role standing in for the function's execution role (Secrets Manager only, no IAM), key ${role.accessKeyId}`,
        ],
        command: TSX,
        args: ["secretsmanager-rotation-lambda/invoke-locally.ts"],
        cwd: EXAMPLES_DIR,
        // The deployed default (next-rotation): the first rotation leaves the old key Active, the second retires it.
        env: { KEYUP_SECRET_ID: arn, KEYUP_ROTATION_TOKEN: token, KEYUP_VERIFY_TIMEOUT_MS: "10000" },
        // What the Lambda runtime hands the function: its role's credentials.
        hiddenEnv: { AWS_ACCESS_KEY_ID: role.accessKeyId, AWS_SECRET_ACCESS_KEY: role.secretAccessKey },
        again: async () => {
          // The emulator checks signatures by now: the administrator starts the next rotation, as Secrets Manager's schedule would.
          const next = await startMotoRotation(url, arn, context.admin);
          return {
            seeded: `a second rotation of it started with RotateSecret (token ${next}), as the next scheduled one`,
            env: { KEYUP_SECRET_ID: arn, KEYUP_ROTATION_TOKEN: next, KEYUP_VERIFY_TIMEOUT_MS: "10000" },
          };
        },
        users: ["app"],
        holders: [secretHolder(context, arn)],
      };
    },
  },
};
