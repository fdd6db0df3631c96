/**
 * What an STS caller ARN says about the identity behind a key.
 *
 * @example
 * ```ts
 * const identity: CallerIdentity = { type: "user", account: "123456789012", name: "ci-bot", path: "/" };
 * ```
 */
export type CallerIdentity =
  | { readonly type: "user"; readonly account: string; readonly name: string; readonly path: string }
  | { readonly type: "root"; readonly account: string }
  | { readonly type: "assumed-role"; readonly account: string }
  | { readonly type: "federated-user"; readonly account: string }
  | { readonly type: "unknown" };

/**
 * Parses the ARN GetCallerIdentity returns. Only `user` identities have access keys keyup can rotate.
 *
 * @example
 * ```ts
 * parseIdentityArn("arn:aws:iam::123456789012:user/team/ci-bot"); // { type: "user", name: "ci-bot", path: "/team/", … }
 * parseIdentityArn("arn:aws:iam::123456789012:root");             // { type: "root", … }
 * ```
 */
export function parseIdentityArn(arn: string): CallerIdentity {
  const match = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):(.+)$/.exec(arn);
  if (!match) return { type: "unknown" };
  const [, service, account = "", resource = ""] = match;
  if (service === "iam" && resource === "root") return { type: "root", account };
  if (service === "iam" && resource.startsWith("user/")) {
    const parts = resource.split("/");
    const name = resource.slice(resource.lastIndexOf("/") + 1);
    const path = `/${parts.slice(1, -1).join("/")}${parts.length > 2 ? "/" : ""}`;
    return name ? { type: "user", account, name, path } : { type: "unknown" };
  }
  if (service === "sts" && resource.startsWith("assumed-role/")) return { type: "assumed-role", account };
  if (service === "sts" && resource.startsWith("federated-user/")) return { type: "federated-user", account };
  return { type: "unknown" };
}
