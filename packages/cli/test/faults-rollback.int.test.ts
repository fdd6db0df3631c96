import { describeFaultsAt, describeGarbledCreate, FAULT_TARGETS } from "./_support/fault-suite.js";

// The rollback's call, and garbled answers to a CreateAccessKey that landed.
describeFaultsAt(FAULT_TARGETS.slice(7));
describeGarbledCreate();
