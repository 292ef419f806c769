// The CLI tells its errors apart by name, never by `instanceof`: a pipeline file may bring its own
// copy of switchboard (inside this repository, machines/ import src/ while the CLI runs from
// dist/), and an error class of one copy is not the class of the other.

/**
 * Whether `error` is an Error whose `name` is one of `names` (switchboard's error classes each set
 * their `name` to the class name), whichever copy of the library threw it.
 *
 * @example
 * if (isErrorNamed(error, "ResumeError", "CorruptJournalError")) output.error(error.message)
 */
export const isErrorNamed = (error: unknown, ...names: readonly string[]): error is Error =>
  typeof error === "object" &&
  error !== null &&
  typeof (error as { name?: unknown }).name === "string" &&
  names.includes((error as Error).name) &&
  typeof (error as { message?: unknown }).message === "string"
