// The collector's bearer token: the agent sends it (--collector-token-file), the
// collector requires it (--token-file). Both read and validate it here, so a
// token one program accepts the other can never refuse.
import { readFileSync } from 'node:fs';

/** What a token may be: what an Authorization header carries without quoting (visible ASCII, no spaces), 1-4096 characters. */
export const TOKEN_RULE = 'the token must be 1-4096 visible ASCII characters on one line, without spaces';

/** The token in a file's text, without surrounding whitespace (a Secret's key often ends in a newline); null when it breaks TOKEN_RULE. */
export function parseToken(text: string): string | null {
  const token = text.trim();
  return /^[\x21-\x7e]{1,4096}$/.test(token) ? token : null;
}

/** Reads a token file (a mounted Secret). Returns the token or the reason it is unusable, for the caller to name the option with. */
export function readTokenFile(
  path: string,
  readText: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): { token: string } | { error: string } {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    return { error: `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const token = parseToken(text);
  return token === null ? { error: text.trim() === '' ? 'the file is empty' : TOKEN_RULE } : { token };
}
