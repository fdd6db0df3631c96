import { type ChildProcess, spawn } from "node:child_process";
import type { TestProject } from "vitest/node";

/**
 * Starts one moto server on 127.0.0.1 with a random port for the whole test run, and hands its URL
 * to the tests (`inject("motoUrl")`). Tests reset its state between them.
 */
let moto: ChildProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  const url = process.env.KEYUP_TEST_MOTO_URL ?? (await startMoto());
  project.provide("motoUrl", url);
}

export async function teardown(): Promise<void> {
  moto?.kill("SIGTERM");
}

async function startMoto(): Promise<string> {
  const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  moto = child;
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`moto did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stderr?.on("data", onData);
    child.stdout?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`moto exited with ${code} before it was ready (is moto[server] installed for python3?):\n${output}`));
    });
  });
  // Drain output so a full pipe never blocks the server.
  child.stderr?.resume();
  child.stdout?.resume();
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${url}/moto-api/data.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto at ${url} never answered /moto-api/data.json`);
}

declare module "vitest" {
  export interface ProvidedContext {
    motoUrl: string;
  }
}
