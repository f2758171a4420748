import { useEffect, useId, useState } from 'react';
import { describeError } from '../api/errors';
import { push } from '../push/browserPush';
import type { PushState } from '../push/pushClient';

/** What the line under the switch says in each state. */
const EXPLANATION: Record<PushState | 'loading', string> = {
  loading: 'Checking this browser...',
  on: 'New messages are announced here, also while the app is closed.',
  off: 'Get a notification for new messages, also while the app is closed.',
  blocked: "Notifications are blocked in this browser's settings. Allow them for this site there, then turn this on.",
  unsupported: 'This browser cannot show notifications from the app.',
  unavailable: 'This server does not send notifications.',
};

/**
 * "Notifications on this device": Web Push for this browser. The state comes from the browser's
 * push subscription, so it is the same after a reload; the permission is asked only when the user
 * turns the switch on.
 */
export function NotificationSwitch() {
  const titleId = useId();
  const inputId = useId();
  const [state, setState] = useState<PushState | 'loading'>('loading');
  /** While a change is under way: where the switch is going. */
  const [turning, setTurning] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    push.state().then(
      (next) => {
        if (live) setState(next);
      },
      (err: unknown) => {
        if (!live) return;
        setState('off');
        setError(describeError(err).message);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  async function toggle(on: boolean) {
    setTurning(on);
    setError(null);
    try {
      // Called straight from the click: the browser asks for the permission only from there.
      const next = on ? await push.enable() : await push.disable();
      setState(next);
      if (on && next === 'off') setError('Notifications were not allowed. Turn the switch on to be asked again.');
    } catch (err) {
      setError(`Notifications could not be turned ${on ? 'on' : 'off'}: ${describeError(err).message}`);
      setState(await push.state().catch((): PushState => 'off'));
    } finally {
      setTurning(null);
    }
  }

  const usable = state === 'on' || state === 'off';
  const busy = turning !== null;
  return (
    <section className="settings-section" aria-labelledby={titleId} data-testid="push-settings">
      <h3 id={titleId}>Notifications</h3>
      <div className="switch-field">
        <label htmlFor={inputId}>Notifications on this device</label>
        <input
          id={inputId}
          type="checkbox"
          role="switch"
          className="switch"
          checked={turning ?? state === 'on'}
          // Not disabled while a change is under way: that would take the keyboard focus away.
          disabled={!usable}
          aria-disabled={busy ? true : undefined}
          aria-busy={busy || state === 'loading' ? true : undefined}
          aria-describedby={`${inputId}-status`}
          onChange={(event) => {
            if (!busy) void toggle(event.target.checked);
          }}
          data-testid="push-switch"
          data-state={state}
        />
      </div>
      <p
        id={`${inputId}-status`}
        className={state === 'blocked' ? 'field-error' : 'field-hint'}
        aria-live="polite"
        data-testid="push-status"
      >
        {EXPLANATION[state]}
      </p>
      {error ? (
        <p className="form-error" role="alert" data-testid="push-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}
