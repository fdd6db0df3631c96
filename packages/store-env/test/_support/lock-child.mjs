// A second process for the lock tests, driven over stdin one command per line:
//   lock     take the store's lock        -> {"locked":true} or {"code":…,"holder":…,"message":…}
//   release  release the lock it holds    -> {"released":true}
// It prints {"ready":true,"pid":…} once the store is loaded. argv: <path to .env>.
import { createInterface } from "node:readline";

const { envStore } = await import("@keyup/store-env");
const store = envStore({ path: process.argv[2] });
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
let held;

say({ ready: true, pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  try {
    if (command === "lock") {
      held = await store.lock();
      say({ locked: true });
    } else if (command === "release") {
      await held?.release();
      say({ released: true });
    }
  } catch (error) {
    say({ code: error.code, holder: error.holder, message: error.message });
  }
}
