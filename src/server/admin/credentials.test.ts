import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_PASSWORD_FILE, hashPassword, loadOperatorCredential, parsePasswordHash, verifyPassword } from './credentials';

const env = { APP_ENV: 'development' as const, MONGODB_URI: 'mongodb://127.0.0.1:27017/orders' };

describe('operator password', () => {
  it('hashes with scrypt and a fresh salt, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt:15:8:1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', parsePasswordHash(a))).toBe(true);
    expect(await verifyPassword('correct horse batterY', parsePasswordHash(a))).toBe(false);
    expect(await verifyPassword('', parsePasswordHash(a))).toBe(false);
  });

  it('refuses hashes it cannot trust, including costs that would stall every sign-in', () => {
    expect(() => parsePasswordHash('bcrypt:10:x:y')).toThrow(/scrypt/);
    expect(() => parsePasswordHash('scrypt:30:8:1:c2FsdHNhbHRzYWx0c2FsdA:a2V5')).toThrow(/out of range/);
    expect(() => parsePasswordHash('scrypt:15:8:1:salt:key:extra')).toThrow(/scrypt/);
  });

  it('derives the same credential in every process from one ADMIN_PASSWORD, and another one from another password', async () => {
    const one = await loadOperatorCredential({ ...env, ADMIN_PASSWORD: 'operator password one' });
    const again = await loadOperatorCredential({ ...env, ADMIN_PASSWORD: 'operator password one' });
    const other = await loadOperatorCredential({ ...env, ADMIN_PASSWORD: 'operator password two' });
    expect(one.fingerprint).toBe(again.fingerprint);
    expect(one.fingerprint).not.toBe(other.fingerprint);
    expect(await verifyPassword('operator password one', again.hash)).toBe(true);
  });

  it('in development without configuration, generates one password, kept private and shared by every process', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'admin-credential-'));
    const [a, b] = await Promise.all([loadOperatorCredential(env, root), loadOperatorCredential(env, root)]);
    expect(a.source).toBe('generated');
    expect(a.generated).toBe(b.generated);
    expect(a.fingerprint).toBe(b.fingerprint);
    const file = path.join(root, GENERATED_PASSWORD_FILE);
    expect((await readFile(file, 'utf8')).trim()).toBe(a.generated);
    expect((await stat(file)).mode & 0o077).toBe(0);
    expect(await verifyPassword(a.generated!, a.hash)).toBe(true);
    await expect(loadOperatorCredential({ ...env, APP_ENV: 'production' }, root)).rejects.toThrow(/required/);
  });
});
