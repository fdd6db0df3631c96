import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lockFile } from "@keyup/core/files";
import { describe, expect, test } from "vitest";
import { tempDir } from "../../../test-support/moto.js";

// Issue 15, "messages that mislead": a symlink where the lock folder goes was reported as a lock held
// by an unknown process (or a missing folder); keyup refuses to lock through it and now says so.
describe("a symlinked lock folder", () => {
  for (const [what, to] of [
    ["pointing at a folder", "elsewhere"],
    ["dangling", "nowhere"],
  ] as const) {
    test(`${what}: reported as a symlink keyup refuses to follow`, async () => {
      const dir = await tempDir("keyup-symlock-");
      const target = join(dir, "credentials");
      await writeFile(target, "x\n", { mode: 0o600 });
      await mkdir(join(dir, "elsewhere"));
      await symlink(join(dir, to), `${target}.lock`);
      const error = await lockFile(target, "ini:test").then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe("EUNSUPPORTED");
      expect(error?.message).toBe(`ini:test: cannot take the lock ${target}.lock: it is a symlink, which keyup refuses to follow; remove it`);
      expect(error?.message).not.toMatch(/does not exist|locked by/);
      // What proper-lockfile made of the link (a lock held, both times), kept for whoever debugs it.
      expect(error?.cause).toMatchObject({ code: "ELOCKED", message: "Lock file is already being held" });
    });
  }
});
