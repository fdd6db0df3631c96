import type { TestProject } from "vitest/node";
import { type Emulator, startMoto } from "./emulator.js";

/**
 * Starts one moto server on 127.0.0.1 with a random port for the whole test run, and hands its URL
 * to the tests (`inject("motoUrl")`). Tests reset its state between them.
 */
let moto: Emulator | undefined;

export async function setup(project: TestProject): Promise<void> {
  moto = process.env.KEYUP_TEST_MOTO_URL ? undefined : await startMoto();
  const url = process.env.KEYUP_TEST_MOTO_URL ?? moto?.url ?? "";
  project.provide("motoUrl", url);
}

export async function teardown(): Promise<void> {
  moto?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    motoUrl: string;
  }
}
