import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { awsErrorName, createStoreError } from "@keyup/core";
import { toStoreError } from "./aws-errors.js";

/** One version of a secret as keyup reads it: its id, its text, and the staging labels it carries. */
export interface SecretVersion {
  readonly versionId: string;
  readonly text: string;
  readonly stages: readonly string[];
  /** When Secrets Manager created the version, on AWS's clock. */
  readonly createdDate?: Date;
}

/** How to reach Secrets Manager: a ready client, or what to build one from. */
export interface ClientOptions {
  readonly client?: SecretsManagerClient;
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: SecretsManagerClientConfig["credentials"];
}

/**
 * The client the options describe. The region comes from the options, else from the secret's ARN,
 * else from the SDK's own resolution (AWS_REGION, the profile's config).
 */
export function clientFor(options: ClientOptions, secretId: string): SecretsManagerClient {
  if (options.client) return options.client;
  const region = options.region ?? /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1];
  return new SecretsManagerClient({
    ...(region !== undefined ? { region } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

/** True when `error` is an AWS error with this name. */
export const isAwsError = (error: unknown, ...names: string[]): boolean => names.includes(awsErrorName(error));

/**
 * The Secrets Manager calls keyup makes on one secret, with failures turned into store errors that
 * name `where`. Every read names a staging label or a version id: without one, some implementations
 * (moto among them) answer from a stale default version.
 */
export function secretApi(client: SecretsManagerClient, secretId: string, where: string) {
  const call = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw toStoreError(error, where, operation);
    }
  };

  const missing = async (error: unknown): Promise<Error> => {
    if (isAwsError(error, "ResourceNotFoundException")) {
      // The same error means "no such secret" and "no version with that label": tell them apart.
      const exists = await client.send(new DescribeSecretCommand({ SecretId: secretId })).then(
        () => true,
        (describeError: unknown) => (isAwsError(describeError, "ResourceNotFoundException") ? false : undefined),
      );
      if (exists === false) return createStoreError("ENOTFOUND", `${where}: the secret does not exist (check the id and the region)`);
      if (exists === true) return createStoreError("EINVALID", `${where}: the secret has no current value: put a JSON object such as {} in it first`);
    }
    if (isAwsError(error, "InvalidRequestException") && /delet/i.test((error as Error).message ?? "")) {
      return createStoreError("ENOTFOUND", `${where}: the secret is scheduled for deletion (restore it with aws secretsmanager restore-secret)`);
    }
    return toStoreError(error, where, "GetSecretValue");
  };

  const toVersion = (
    out: { VersionId?: string; SecretString?: string; SecretBinary?: unknown; VersionStages?: string[]; CreatedDate?: Date },
    what: string,
  ): SecretVersion => {
    if (out.SecretString === undefined) {
      throw createStoreError("EINVALID", `${where}: ${what} holds a binary value: keyup expects a JSON string`);
    }
    if (!out.VersionId) throw createStoreError("EIO", `${where}: GetSecretValue answered without a version id`);
    return { versionId: out.VersionId, text: out.SecretString, stages: out.VersionStages ?? [], ...(out.CreatedDate ? { createdDate: out.CreatedDate } : {}) };
  };

  return {
    /** The version that carries `stage` (AWSCURRENT by default). */
    async byStage(stage = "AWSCURRENT"): Promise<SecretVersion> {
      let out: GetSecretValueCommandOutput;
      try {
        out = await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      } catch (error) {
        throw await missing(error);
      }
      return toVersion(out, `the ${stage} version`);
    },

    /** A version by id, optionally requiring it to carry `stage`; `undefined` when it has no value. */
    async byId(versionId: string, stage?: string): Promise<SecretVersion | undefined> {
      try {
        const out = await client.send(
          new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId, ...(stage !== undefined ? { VersionStage: stage } : {}) }),
        );
        return toVersion(out, `version ${versionId}`);
      } catch (error) {
        if (isAwsError(error, "ResourceNotFoundException")) return undefined;
        throw toStoreError(error, where, "GetSecretValue");
      }
    },

    /** Every version id the secret still keeps, deprecated ones included. */
    async versionIds(): Promise<Map<string, readonly string[]>> {
      const ids = new Map<string, readonly string[]>();
      let nextToken: string | undefined;
      do {
        const out = await call("ListSecretVersionIds", () =>
          client.send(new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, ...(nextToken ? { NextToken: nextToken } : {}) })),
        );
        for (const version of out.Versions ?? []) if (version.VersionId) ids.set(version.VersionId, version.VersionStages ?? []);
        nextToken = out.NextToken || undefined;
      } while (nextToken);
      return ids;
    },

    /**
     * The secret's name (its id may be an ARN), whether rotation is turned on for it, and the labels on
     * each labelled version (DescribeSecret's VersionIdsToStages leaves out versions with no label), and
     * its tags.
     */
    async describe(): Promise<{ name: string; rotationEnabled: boolean; stages: Map<string, readonly string[]>; tags: Map<string, string> }> {
      let out: DescribeSecretCommandOutput;
      try {
        out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      } catch (error) {
        if (isAwsError(error, "ResourceNotFoundException")) {
          throw createStoreError("ENOTFOUND", `${where}: the secret does not exist (check the id and the region)`);
        }
        throw toStoreError(error, where, "DescribeSecret");
      }
      const stages = new Map<string, readonly string[]>();
      for (const [id, labels] of Object.entries(out.VersionIdsToStages ?? {})) stages.set(id, labels);
      const tags = new Map<string, string>();
      for (const tag of out.Tags ?? []) if (tag.Key !== undefined) tags.set(tag.Key, tag.Value ?? "");
      return { name: out.Name ?? secretId, rotationEnabled: out.RotationEnabled === true, stages, tags };
    },

    /**
     * Adds a version with `token` as its id carrying `stages`; repeating the same call adds nothing.
     * `rotationToken` is the one a rotation event carried: PutSecretValue is the only Secrets Manager
     * call that accepts it, and Secrets Manager uses it to check the caller when the rotation function
     * assumes a role or rotates a secret of another account
     * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
     */
    async put(text: string, token: string, stages: string[], rotationToken?: string): Promise<readonly string[]> {
      const out = await call("PutSecretValue", () =>
        client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            SecretString: text,
            ClientRequestToken: token,
            VersionStages: stages,
            ...(rotationToken !== undefined ? { RotationToken: rotationToken } : {}),
          }),
        ),
      );
      return out.VersionStages ?? [];
    },

    /**
     * Moves `stage` to version `to`, off version `from`. Secrets Manager refuses the move when `from`
     * no longer carries the label, which makes it a compare-and-swap; the raw error is rethrown so the
     * caller can tell a lost race (InvalidParameterException) from other failures.
     */
    async moveStage(stage: string, to: string | undefined, from: string | undefined): Promise<void> {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: stage,
          ...(to !== undefined ? { MoveToVersionId: to } : {}),
          ...(from !== undefined ? { RemoveFromVersionId: from } : {}),
        }),
      );
    },

    /** Sets one tag on the secret (TagResource replaces the value of a key it already has). */
    async tag(key: string, value: string): Promise<void> {
      await call("TagResource", () => client.send(new TagResourceCommand({ SecretId: secretId, Tags: [{ Key: key, Value: value }] })));
    },

    /** Removes tags from the secret; removing a tag it does not have is not an error. */
    async untag(keys: string[]): Promise<void> {
      await call("UntagResource", () => client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: keys })));
    },

    async create(text: string, token: string, description: string): Promise<void> {
      await client.send(new CreateSecretCommand({ Name: secretId, SecretString: text, ClientRequestToken: token, Description: description }));
    },

    async forceDelete(): Promise<void> {
      await client.send(new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }));
    },

    call,
  };
}

/** The calls {@link secretApi} offers. */
export type SecretApi = ReturnType<typeof secretApi>;
