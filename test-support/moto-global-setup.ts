import type { TestProject } from "vitest/node";
import { type Emulator, startMoto } from "./emulator.js";
import { TEST_WORKERS } from "./test-workers.js";

/**
 * Starts one moto server on 127.0.0.1 (random port) per test worker for the whole run and hands their
 * URLs to the tests (`inject("motoUrls")`; test-support/moto-url.ts picks the worker's own). Tests reset
 * their server's state between them. With `KEYUP_TEST_MOTO_URL` (a realism proxy in front of one moto)
 * that one URL is used and the integration files run one at a time (vitest.config.ts).
 */
let servers: Emulator[] = [];

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.KEYUP_TEST_MOTO_URL;
  servers = given ? [] : await Promise.all(Array.from({ length: TEST_WORKERS }, () => startMoto()));
  project.provide("motoUrls", given ? [given] : servers.map((s) => s.url));
}

export async function teardown(): Promise<void> {
  for (const server of servers) server.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    motoUrls: string[];
  }
}
