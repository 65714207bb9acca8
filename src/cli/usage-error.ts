/** A command used wrongly (exit code 2), as opposed to a failure while it ran (exit code 1). */
export class UsageError extends Error {}
