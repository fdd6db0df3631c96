import { spawn } from "node:child_process";
import { startMoto } from "../emulator.js";
import { scaleProfile, TYPICAL_AWS } from "./profiles.js";
import { startRealismProxy } from "./realism-proxy.js";

/**
 * Runs integration test files against moto behind the realism proxy instead of bare moto: the proxy's URL
 * stands in for moto's (KEYUP_TEST_MOTO_URL), so every client the tests make meets AWS as TYPICAL_AWS
 * models it. A measurement, not part of the suite: it shows which tests rely on moto being kinder than
 * AWS. The suite's own run of the end-to-end paths under TYPICAL_AWS is typical-aws.int.test.ts.
 *
 *   pnpm exec tsx test-support/realism/run-under-profile.ts [--scale 0.5] packages/core/test/rotate.int.test.ts …
 *
 * @example
 * ```sh
 * pnpm exec tsx test-support/realism/run-under-profile.ts packages/core/test/rotate.int.test.ts
 * ```
 */
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const scaleAt = args.indexOf("--scale");
  const factor = scaleAt >= 0 ? Number(args.splice(scaleAt, 2)[1]) : 1;
  const profile = factor === 1 ? TYPICAL_AWS : scaleProfile(TYPICAL_AWS, factor);
  const moto = await startMoto();
  const proxy = await startRealismProxy(moto.url, profile);
  try {
    console.error(`moto ${moto.url}, realism proxy ${proxy.url}: ${JSON.stringify(profile)}`);
    const child = spawn("pnpm", ["exec", "vitest", "run", "--project", "integration", ...args], {
      stdio: "inherit",
      env: { ...process.env, KEYUP_TEST_MOTO_URL: proxy.url },
    });
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    const refused: Record<string, number> = {};
    for (const r of proxy.requests.filter((r) => r.modelled)) refused[`${r.action} ${r.error}`] = (refused[`${r.action} ${r.error}`] ?? 0) + 1;
    console.error(`modelled refusals: ${JSON.stringify(refused)}`);
    return code;
  } finally {
    await proxy.close();
    moto.stop();
  }
}

process.exitCode = await main();
