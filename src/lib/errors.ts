/** An error with a stable `code` that callers branch on (never on the message). */
export class CodedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'CodedError';
  }
}
