import { describeFaultsAt, FAULT_TARGETS } from "./_support/fault-suite.js";

// The calls before the new key exists: who am I, ListAccessKeys, deleting an Inactive key, CreateAccessKey.
describeFaultsAt(FAULT_TARGETS.slice(0, 4));
