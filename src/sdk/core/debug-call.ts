/**
 * The key of Recognite's method for the worker's test-only debug.* handlers. It is not exported from
 * the package's entry point: only the test suite (test/debug.ts) imports it, and the worker registers
 * those handlers only when started by the test suite (RECOGNITE_TEST_MODE=1).
 */
export const DEBUG_CALL: unique symbol = Symbol('recognite.debugCall');
