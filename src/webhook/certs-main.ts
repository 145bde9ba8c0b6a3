// netready certs: write a CA and the webhook's serving certificate to a
// directory, and print the caBundle and a Secret manifest, so that
// `netready certs … | kubectl apply -f -` installs the Secret.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { optionError, optionsHelp, resolveOptions, type OptionDef } from '../lib/cli-options.ts';
import { EXIT_CONFIG, parseConfigOrExit } from '../lib/cli-config.ts';
import { issueCerts, secretManifest } from './certs.ts';
import { writeStderr, writeStdout } from '../lib/stdout.ts';

/** Exit codes of `netready certs`. */
const EXIT = { OK: 0, /** The output directory could not be written. */ UNWRITABLE: 1, CONFIG: EXIT_CONFIG } as const;

/** Every option of `netready certs`: the flag is the key. */
export const CERTS_OPTIONS = {
  service: { default: 'netready-webhook', value: 'NAME', help: "the webhook's Service name" },
  namespace: { default: 'netready-system', value: 'NS', help: "the webhook's namespace" },
  out: { value: 'DIR', help: 'directory for ca.crt, tls.crt, tls.key, secret.yaml (required; created if missing)' },
  'secret-name': { value: 'NAME', help: 'name of the Secret [default SERVICE-tls]' },
  days: { default: '365', value: 'N', help: 'validity of both certificates, in days' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies Record<string, OptionDef>;

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a DNS label: lowercase letters, digits and -');
const schema = z.object({
  service: dnsLabel,
  namespace: dnsLabel,
  out: z.string({ error: 'is required' }).min(1, 'is required'),
  'secret-name': dnsLabel.optional(),
  days: z
    .string()
    .regex(/^\d{1,4}$/, 'expected 1 to 3650')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 3650, 'expected 1 to 3650'),
});

/** Runs `netready certs`; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const help = () =>
    optionsHelp(
      'Usage: netready certs --out DIR [--service NAME] [--namespace NS]',
      'Makes a CA and a serving certificate for the webhook Service; prints the caBundle and a Secret manifest.',
      CERTS_OPTIONS,
      ['The CA key is not kept: to renew, run this again and update the caBundle.'],
    );
  const parsed = parseConfigOrExit('certs', () => {
    const { raw, source } = resolveOptions(CERTS_OPTIONS, argv, env, help);
    const r = schema.safeParse(raw);
    if (!r.success) {
      const key = String(r.error.issues[0]!.path[0]);
      throw optionError(source[key]!, raw[key], r.error.issues[0]!.message);
    }
    return r.data;
  });
  if ('exit' in parsed) return parsed.exit;
  const options = parsed.config;

  const certs = await issueCerts(options.service, options.namespace, options.days);
  const secret = secretManifest(options['secret-name'] ?? `${options.service}-tls`, options.namespace, certs);
  const caBundle = Buffer.from(certs.caPem).toString('base64');
  try {
    mkdirSync(options.out, { recursive: true });
    replaceFile(options.out, 'ca.crt', certs.caPem, PUBLIC);
    replaceFile(options.out, 'tls.crt', certs.certPem, PUBLIC);
    replaceFile(options.out, 'tls.key', certs.keyPem, PRIVATE);
    replaceFile(options.out, 'secret.yaml', secret, PRIVATE);
    replaceFile(options.out, 'ca-bundle.txt', `${caBundle}\n`, PUBLIC);
  } catch (err) {
    writeStderr(`netready certs: cannot write to ${options.out}: ${(err as Error).message}\n`);
    return EXIT.UNWRITABLE;
  }
  // A comment line, then the manifest: the output is a valid YAML stream for kubectl apply -f -.
  writeStdout(`# caBundle (for the MutatingWebhookConfiguration's clientConfig.caBundle): ${caBundle}\n---\n${secret}`);
  return EXIT.OK;
}

const PUBLIC = 0o644;
/** The key, and the Secret manifest that holds it: the owner only. */
const PRIVATE = 0o600;

/**
 * Puts `content` at `dir/name` with exactly `mode`: written to a new file of
 * that mode in the same directory, then renamed over the old name. So an
 * existing file's looser mode never carries over, a symlink at `name` is
 * replaced instead of written through, and a reader never sees half a file.
 */
function replaceFile(dir: string, name: string, content: string, mode: number): void {
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  // O_EXCL|O_NOFOLLOW: a fresh file of our own, never something planted at that name.
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  let open = true;
  try {
    // The umask may have taken bits off a public file; set the mode exactly.
    fchmodSync(fd, mode);
    writeFileSync(fd, content);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    renameSync(temp, join(dir, name));
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}
