import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { describeError, splitFieldErrors } from '../api/errors';
import { FormField } from '../components/FormField';
import { useAuth } from '../session/AuthContext';

function AuthCard({ title, children, footer }: { title: string; children: ReactNode; footer: ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1>{title}</h1>
        {children}
        <p className="auth-footer">{footer}</p>
      </div>
    </main>
  );
}

function useRedirectTarget(): string {
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  return from && from.startsWith('/') && !from.startsWith('//') ? from : '/';
}

function FormError({ message, testId }: { message: string | null; testId: string }) {
  if (!message) return null;
  return (
    <p className="form-error" role="alert" data-testid={testId}>
      {message}
    </p>
  );
}

export function LoginPage() {
  const { state, login, notice } = useAuth();
  const navigate = useNavigate();
  const target = useRedirectTarget();
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  if (state.status === 'authenticated' && !busy) return <Navigate to={target} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!identifier.trim()) local.identifier = 'Enter your username or email.';
    if (!password) local.password = 'Enter your password.';
    setFieldErrors(local);
    setError(null);
    if (Object.keys(local).length > 0) return;

    setBusy(true);
    try {
      await login(identifier, password);
      navigate(target, { replace: true });
    } catch (err) {
      const problem = describeError(err);
      const details = { ...problem.fieldErrors };
      // The form has one field for either name.
      const identifierErrors = [...(details.username ?? []), ...(details.email ?? [])];
      delete details.username;
      delete details.email;
      const { byField, other } = splitFieldErrors(details, ['password']);
      if (identifierErrors.length > 0) byField.identifier = identifierErrors.join(' ');
      setFieldErrors(byField);
      setError([problem.message, ...other].join(' '));
      setBusy(false);
    }
  }

  return (
    <AuthCard
      title="Sign in"
      footer={
        <>
          New here? <Link to="/register">Create an account</Link>
        </>
      }
    >
      <form onSubmit={submit} noValidate className="stack" data-testid="login-form" aria-busy={busy}>
        {notice ? (
          <p className="notice notice-info" role="status" data-testid="session-notice">
            {notice}
          </p>
        ) : null}
        <FormError message={error} testId="login-error" />
        <FormField
          label="Username or email"
          name="identifier"
          autoComplete="username"
          value={identifier}
          onChange={(event) => {
            setIdentifier(event.target.value);
            setFieldErrors(({ identifier: _, ...rest }) => rest);
          }}
          error={fieldErrors.identifier}
          autoFocus
          required
          testId="login-username"
        />
        <FormField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => {
            setPassword(event.target.value);
            setFieldErrors(({ password: _, ...rest }) => rest);
          }}
          error={fieldErrors.password}
          required
          testId="login-password"
        />
        <button type="submit" className="button primary wide" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in...' : 'Sign in'}
        </button>
      </form>
    </AuthCard>
  );
}

const REGISTER_FIELDS = ['username', 'email', 'password'] as const;

export function RegisterPage() {
  const { state, register } = useAuth();
  const navigate = useNavigate();
  const [values, setValues] = useState({ username: '', email: '', password: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  if (state.status === 'authenticated' && !busy) return <Navigate to="/" replace />;

  function set(field: (typeof REGISTER_FIELDS)[number], value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setFieldErrors(({ [field]: _, ...rest }) => rest);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!values.username.trim()) local.username = 'Choose a username.';
    if (!values.email.trim()) local.email = 'Enter your email address.';
    if (!values.password) local.password = 'Choose a password.';
    setFieldErrors(local);
    setError(null);
    if (Object.keys(local).length > 0) return;

    setBusy(true);
    try {
      await register(values.username, values.email, values.password);
      navigate('/', { replace: true });
    } catch (err) {
      const problem = describeError(err);
      const { byField, other } = splitFieldErrors(problem.fieldErrors, REGISTER_FIELDS);
      setFieldErrors(byField);
      setError([problem.message, ...other].join(' '));
      setBusy(false);
    }
  }

  return (
    <AuthCard
      title="Create an account"
      footer={
        <>
          Already have an account? <Link to="/login">Sign in</Link>
        </>
      }
    >
      <form onSubmit={submit} noValidate className="stack" data-testid="register-form" aria-busy={busy}>
        <FormError message={error} testId="register-error" />
        <FormField
          label="Username"
          name="username"
          autoComplete="username"
          value={values.username}
          onChange={(event) => set('username', event.target.value)}
          error={fieldErrors.username}
          autoFocus
          required
          testId="register-username"
        />
        <FormField
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          value={values.email}
          onChange={(event) => set('email', event.target.value)}
          error={fieldErrors.email}
          required
          testId="register-email"
        />
        <FormField
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          value={values.password}
          onChange={(event) => set('password', event.target.value)}
          error={fieldErrors.password}
          required
          testId="register-password"
        />
        <button type="submit" className="button primary wide" disabled={busy} data-testid="register-submit">
          {busy ? 'Creating account...' : 'Create account'}
        </button>
      </form>
    </AuthCard>
  );
}
