/** The error a test provoked, with the fields store errors carry. */
export type Caught = Error & { code?: string; holder?: string };

/**
 * Catches the error a promise rejects with (fails the test if it resolves).
 *
 * @example
 * ```ts
 * expect((await rejection(store.lock())).code).toBe("ELOCKED");
 * ```
 */
export async function rejection(promise: Promise<unknown>): Promise<Caught> {
  try {
    await promise;
  } catch (error) {
    return error as Caught;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/**
 * Catches the error a function throws (fails the test if it returns).
 *
 * @example
 * ```ts
 * expect(thrown(() => iniStore({ profile: "" })).code).toBe("EINVALID");
 * ```
 */
export function thrown(fn: () => unknown): Caught {
  try {
    fn();
  } catch (error) {
    return error as Caught;
  }
  throw new Error("expected a throw, but the function returned");
}
