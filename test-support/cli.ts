import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { captureOutput } from "./secrets.js";

/** The built `keyup` executable. `pnpm test` builds it first. */
export const KEYUP_BIN = fileURLToPath(new URL("../packages/cli/dist/bin.js", import.meta.url));

export interface KeyupRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** PATH and friends, but no ambient AWS credentials: keyup must never fall back to them. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_")) env[k] = v;
  return { ...env, AWS_CONFIG_FILE: "/nonexistent/keyup-test-config", ...extra };
}

/** Starts `keyup` as a child process; `done` resolves when it exits, with everything it printed. */
export function spawnKeyup(args: string[], env: Record<string, string>, as?: { uid: number; gid: number }): { child: ChildProcess; done: Promise<KeyupRun> } {
  if (!existsSync(KEYUP_BIN)) throw new Error(`${KEYUP_BIN} is missing: run \`pnpm build\` first (\`pnpm test\` does)`);
  const started = Date.now();
  const child = spawn(process.execPath, [KEYUP_BIN, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"], ...as });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<KeyupRun>((resolve) => {
    child.on("close", (code, signal) => {
      captureOutput(`keyup ${args.join(" ")} stdout`, stdout);
      captureOutput(`keyup ${args.join(" ")} stderr`, stderr);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, done };
}

/** Runs `keyup` to completion, optionally as another OS user (the suite runs as root; uid 65534 is `nobody`). */
export function keyup(args: string[], env: Record<string, string>, as?: { uid: number; gid: number }): Promise<KeyupRun> {
  return spawnKeyup(args, env, as).done;
}
