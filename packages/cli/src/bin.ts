#!/usr/bin/env node
import { runCli } from "./run-cli.js";

// The AWS SDK prints a notice on Node 20 about its releases from 2027 on. It is addressed to developers
// choosing a runtime, not to someone rotating a key, and it would break --auto's promise of silence.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// First Ctrl-C asks the rotation to stop and roll back; a second one exits at once.
const controller = new AbortController();
process.on("SIGINT", () => {
  if (controller.signal.aborted) process.exit(130);
  process.stderr.write("\nkeyup: interrupted: rolling back (press Ctrl-C again to exit at once)\n");
  controller.abort();
});

const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
const ask = async (question: string): Promise<string> => {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
};

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  interactive,
  // https://no-color.org: any non-empty NO_COLOR turns colour off.
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  ask,
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (bug: unknown) => {
    process.stderr.write(`keyup: internal error: ${bug instanceof Error ? bug.message : String(bug)}\n`);
    process.exitCode = 1;
  },
);
