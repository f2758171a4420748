// How people are named on screen: the display name they chose, else their username.

/** Anything that names a user: a user, a message sender, a quoted message. */
export interface Named {
  username: string;
  display_name?: string | null;
}

/** The name to show for a user. */
export function displayName(user: Named): string {
  return user.display_name?.trim() || user.username;
}

/** "Alice Martin (@alice)", or "@alice" when the user set no display name: where both help. */
export function fullName(user: Named): string {
  const shown = user.display_name?.trim();
  return shown ? `${shown} (@${user.username})` : `@${user.username}`;
}

/** The 64 px variant of an avatar (`/uploads/<hash>_thumb.<ext>`); other URLs as they are. */
export function smallAvatar(url: string | null | undefined): string | null {
  if (!url) return null;
  const match = /^(\/uploads\/[0-9a-f]{64})(\.[a-z]+)$/.exec(url);
  return match ? `${match[1]}_thumb${match[2]}` : url;
}

/** The names of users typing, as shown: a member's display name when the conversation lists them
 * (typing events carry only the username). */
export function typistNames(
  typists: readonly { user_id: number; username: string }[],
  members: readonly (Named & { id: number })[],
): string[] {
  return typists.map((t) => {
    const member = members.find((m) => m.id === t.user_id);
    return member ? displayName(member) : t.username;
  });
}
