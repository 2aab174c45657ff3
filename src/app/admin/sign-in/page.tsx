/** The console's sign-in page: a plain form (works without JavaScript) posting to /api/admin/sign-in. */
import '../admin.css';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Sign in — Operator console' };

const MESSAGES: Record<string, string> = {
  invalid: 'That password is not right.',
  missing: 'Enter the password.',
  throttled: 'Too many failed sign-ins. Wait a few minutes and try again.',
};

type Params = Promise<{ error?: string; next?: string; signedOut?: string }>;

export default async function SignInPage({ searchParams }: { searchParams: Params }) {
  const { error, next, signedOut } = await searchParams;
  const message = error ? (MESSAGES[error] ?? 'Sign-in failed.') : null;
  return (
    <div className="adm-console adm-sign-in">
      <main>
        <h1>Operator console</h1>
        {message && (
          <p role="alert" className="adm-alert" data-testid="sign-in-error">
            {message}
          </p>
        )}
        {signedOut && <p className="adm-notice">You are signed out.</p>}
        <form method="post" action="/api/admin/sign-in">
          <label className="adm-field" htmlFor="password">
            Password
            <input id="password" name="password" type="password" autoComplete="current-password" required maxLength={200} autoFocus />
          </label>
          <input type="hidden" name="next" value={next?.startsWith('/admin') ? next : '/admin'} />
          <button type="submit">Sign in</button>
        </form>
        <p className="adm-muted">The password is set with ADMIN_PASSWORD_HASH (see the README, “Operator console”).</p>
      </main>
    </div>
  );
}
