#!/usr/bin/env node
// netready <command>: each command's code is imported only when it runs, so
// the agent's start-up never pays for another program's dependencies.
import { VERSION } from './lib/version.ts';
import { writeStderr, writeStdout } from './lib/stdout.ts';

const USAGE = `Usage: netready <command> [options]

Commands:
  wait       block until the pod network works, report the delay, exit (init container)
  watch      after the wait, fail readiness while the pod's network is lost, report outages (native sidecar)
  collector  receive the agents' reports, keep them, serve /metrics (Deployment)
  webhook    inject the wait init container into opted-in pods (admission webhook)
  certs      make a CA and the webhook's serving certificate (clusters without cert-manager)
  version    print the version

Run 'netready <command> --help' for the command's options.`;

const EXIT_USAGE = 2;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'wait':
      return (await import('./agent/main.ts')).main(rest, process.env);
    case 'watch':
      return (await import('./agent/watch-main.ts')).main(rest, process.env);
    case 'collector':
      return (await import('./collector/main.ts')).main(rest, process.env);
    case 'webhook':
      return (await import('./webhook/main.ts')).main(rest, process.env);
    case 'certs':
      return (await import('./webhook/certs-main.ts')).main(rest, process.env);
    case 'version':
    case '--version':
      writeStdout(`${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      writeStdout(`${USAGE}\n`);
      return command === undefined ? EXIT_USAGE : 0;
    default:
      writeStderr(`netready: unknown command "${command}"\n\n${USAGE}\n`);
      return EXIT_USAGE;
  }
}

// Exit explicitly: open sockets or timers from cancelled probes must not keep the process alive.
process.exit(await run(process.argv.slice(2)));
