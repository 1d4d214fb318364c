/**
 * Errors with a message meant for a person.
 *
 * HttpError: thrown by routes for a 4xx (or a deliberate 503); the central error handler shows its
 * message as it is. Anything else that reaches the handler is treated as a fault: the person sees a
 * generic message with a reference, and the details go to the log.
 *
 * StartupError: a problem found while starting (database unreachable, data folder in use); the
 * process prints its message as one line and exits with code 1, without a stack trace.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StartupError'
  }
}
