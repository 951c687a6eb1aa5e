/** `pnpm inspect FILE [--policy FILE] [--default-action prevent|detect|inactive]` */
import { runCli } from './cli.js';

const code = runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTTY: process.stdout.isTTY === true,
});
process.exitCode = code;
