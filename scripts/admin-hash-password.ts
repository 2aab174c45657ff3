/**
 * Prints an ADMIN_PASSWORD_HASH for a password read from standard input
 * (so it stays out of the shell history and the process list):
 *   npm run --silent admin:hash-password        (type it, then Enter)
 *   printf %s "$PASSWORD" | npm run --silent admin:hash-password
 */
import { hashPassword } from '../src/server/admin/credentials';

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Operator console password (at least 12 characters): ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  return text.replace(/\r?\n$/, '');
}

async function main(): Promise<void> {
  const password = await readPassword();
  if (password.length < 12 || password.length > 200) {
    process.stderr.write('The password must be 12 to 200 characters long.\n');
    process.exit(1);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  process.exit(0);
}

void main();
