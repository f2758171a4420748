import type { UserStatus } from '../api/types';

function hue(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) % 360;
  return hash;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0]![0], parts[1]![0]] : [...(parts[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

interface AvatarProps {
  name: string;
  url?: string | null;
  status?: UserStatus;
  size?: 'small' | 'medium';
}

/** A picture or initials, with a dot when the user is online. Decorative for screen readers. */
export function Avatar({ name, url, status, size = 'medium' }: AvatarProps) {
  return (
    <span className={`avatar avatar-${size}`} aria-hidden="true" style={{ ['--avatar-hue' as string]: hue(name) }}>
      {url ? <img src={url} alt="" /> : <span className="avatar-initials">{initials(name)}</span>}
      {status === 'online' ? <span className="presence-dot" data-testid="presence-dot" /> : null}
    </span>
  );
}
