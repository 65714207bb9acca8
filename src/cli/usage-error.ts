/** A command line the command cannot run: the message says what is wrong, the exit code is 2. */
export class UsageError extends Error {}
