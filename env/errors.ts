/**
 * One base class for every error the project raises on purpose, and one table that says what
 * each kind of error means to the command line (its exit code) and to the ZeroMQ protocol (its
 * error code, docs/protocol.md). An error that is not a PropAmmError is a bug: exit code 1 and
 * the protocol's INTERNAL.
 */

/** Exit codes of `propamm`: success, a strategy failed validation or the run failed, bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_BAD_INPUT;

/** The protocol's error codes (docs/protocol.md, "Error codes"). */
export type WireErrorCode =
  | "BAD_MESSAGE"
  | "TOO_LARGE"
  | "VERSION"
  | "BAD_REQUEST"
  | "UNKNOWN_COMMAND"
  | "UNKNOWN_ENV"
  | "BAD_ACTION"
  | "CONFIG"
  | "ENV"
  | "TOO_MANY_SESSIONS"
  | "INTERNAL";

/**
 * Every error code, its exit code and its protocol code. A checkpoint or export that cannot be
 * used is bad input like a bad option; the env refusing a call (step before reset) is a caller
 * that went wrong, so the run failed.
 */
export const ERROR_CODES = {
  CONFIG: { exit: EXIT_BAD_INPUT, wire: "CONFIG" },
  CHECKPOINT: { exit: EXIT_BAD_INPUT, wire: "CONFIG" },
  EXPORT: { exit: EXIT_BAD_INPUT, wire: "CONFIG" },
  /** A strategy file that does not build or load (a Rust compile error, a bad WebAssembly module). */
  STRATEGY_FILE: { exit: EXIT_BAD_INPUT, wire: "CONFIG" },
  /** A tool the command needs is not installed (rustc for WebAssembly): the machine, not the input. */
  TOOLCHAIN: { exit: EXIT_FAILED, wire: "CONFIG" },
  ENV: { exit: EXIT_FAILED, wire: "ENV" },
  STRATEGY: { exit: EXIT_FAILED, wire: "ENV" },
  BAD_ACTION: { exit: EXIT_BAD_INPUT, wire: "BAD_ACTION" },
  BAD_MESSAGE: { exit: EXIT_BAD_INPUT, wire: "BAD_MESSAGE" },
  TOO_LARGE: { exit: EXIT_BAD_INPUT, wire: "TOO_LARGE" },
  VERSION: { exit: EXIT_BAD_INPUT, wire: "VERSION" },
  BAD_REQUEST: { exit: EXIT_BAD_INPUT, wire: "BAD_REQUEST" },
  UNKNOWN_COMMAND: { exit: EXIT_BAD_INPUT, wire: "UNKNOWN_COMMAND" },
  UNKNOWN_ENV: { exit: EXIT_BAD_INPUT, wire: "UNKNOWN_ENV" },
  TOO_MANY_SESSIONS: { exit: EXIT_FAILED, wire: "TOO_MANY_SESSIONS" },
  INTERNAL: { exit: EXIT_FAILED, wire: "INTERNAL" },
} as const satisfies Record<string, { exit: ExitCode; wire: WireErrorCode }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of the project's errors: the message says what is wrong, the code what kind of wrong. */
export class PropAmmError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "PropAmmError";
  }
}

/** The code of any thrown value: its own for a PropAmmError, INTERNAL for anything else. */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof PropAmmError ? err.code : "INTERNAL";
}

/** The `propamm` exit code for a thrown value. */
export function exitCodeOf(err: unknown): ExitCode {
  return ERROR_CODES[errorCodeOf(err)].exit;
}

/** The protocol error code for a thrown value. */
export function wireErrorCodeOf(err: unknown): WireErrorCode {
  return ERROR_CODES[errorCodeOf(err)].wire;
}

/** Raised for a configuration value outside its allowed range; the message names the option. */
export class ConfigError extends PropAmmError {
  constructor(message: string) {
    super("CONFIG", message);
    this.name = "ConfigError";
  }
}
