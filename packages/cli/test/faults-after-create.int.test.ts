import { describeFaultsAt, FAULT_TARGETS } from "./_support/fault-suite.js";

// The calls once the new key exists: verify, deactivate and delete the old key.
describeFaultsAt(FAULT_TARGETS.slice(4, 7));
