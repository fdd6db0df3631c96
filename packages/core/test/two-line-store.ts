import { createStoreError } from "@keyup/core";
import { defineFileStore, type FileStoreDefinition } from "@keyup/core/files";

/**
 * The smallest format there is, the one in defineFileStore's JSDoc: the access key id on the first
 * line, the secret on the second, and anything after them kept. In a module of its own so the
 * conformance suite's child process can open it too (`inChildProcess`).
 *
 * @example
 * ```ts
 * const store = twoLineStore("/tmp/key.txt", { missingFile: "create" });
 * ```
 */
export function twoLineStore(path: string, extra: Partial<FileStoreDefinition> = {}) {
  return defineFileStore({
    name: `two-line:${path}`,
    path,
    readKey: (text) => {
      const [accessKeyId = "", secretAccessKey = ""] = text.split("\n");
      if (accessKeyId === "" && secretAccessKey === "") return undefined;
      if (accessKeyId === "" || secretAccessKey === "") throw createStoreError("EINVALID", `${path} holds half a key`);
      return { accessKeyId, secretAccessKey };
    },
    writeKey: (text, key) => {
      const rest = text.split("\n").slice(2).join("\n");
      return `${key.accessKeyId}\n${key.secretAccessKey}\n${rest}`;
    },
    ...extra,
  });
}
