import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { CallProblem } from '../calls/callProblems';
import { useCalls, useCallState } from '../calls/CallsContext';
import type { CallSnapshot } from '../calls/callController';
import { showsCallScreen } from '../calls/callState';
import { formatCallDuration, mediaWord } from '../calls/callText';
import { useChatState } from '../chat/ChatContext';
import { displayName, smallAvatar } from '../chat/names';
import { Avatar } from './Avatar';
import { HangUpIcon, MicIcon, MicOffIcon, PhoneIcon, VideoIcon, VideoOffIcon } from './CallIcons';

/** The other person of the call, as the conversation list knows them. */
function useCallPeer(view: CallSnapshot): { name: string; avatarUrl: string | null } {
  const peer = useChatState((s) =>
    s.conversations.find((c) => c.id === view.conversationId)?.members.find((m) => m.id === view.peerId),
  );
  return { name: peer ? displayName(peer) : 'Someone', avatarUrl: peer?.avatar_url ?? null };
}

/** Whatever the call on this page needs on screen: the ringing dialog, the call screen, or how the last call went. */
export function CallOverlay() {
  const view = useCallState();
  const peer = useCallPeer(view);
  if (view.phase === 'incoming') return <IncomingCall view={view} peer={peer} />;
  if (showsCallScreen(view)) return <CallScreen view={view} peer={peer} />;
  if (view.problem) return <CallNotice problem={view.problem} floating />;
  return null;
}

/** A modal <dialog> that stays open while it is rendered; Escape does `onEscape` (or nothing). */
function useModalDialog(onEscape?: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  const escape = useRef(onEscape);
  useEffect(() => {
    escape.current = onEscape;
  });
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    dialog.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    const onCancel = (event: Event) => {
      event.preventDefault();
      escape.current?.();
    };
    // The browser may close it anyway (a second Escape): it stays while the call does.
    const onClose = () => {
      if (dialog.isConnected && !dialog.open) dialog.showModal();
    };
    dialog.addEventListener('cancel', onCancel);
    dialog.addEventListener('close', onClose);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return ref;
}

function IncomingCall({ view, peer }: { view: CallSnapshot; peer: { name: string; avatarUrl: string | null } }) {
  const calls = useCalls();
  const titleId = useId();
  const ref = useModalDialog(() => calls.decline());
  const kind = mediaWord(view.media);
  return (
    <dialog
      ref={ref}
      role="alertdialog"
      className="modal incoming-call"
      aria-labelledby={titleId}
      aria-describedby={`${titleId}-kind`}
      data-testid="call-incoming"
      data-media={view.media}
    >
      <div className="incoming-call-body">
        <span className="call-avatar ringing">
          <Avatar name={peer.name} url={smallAvatar(peer.avatarUrl)} />
        </span>
        <h2 id={titleId} data-testid="call-incoming-name">
          {peer.name}
        </h2>
        <p id={`${titleId}-kind`} className="muted">
          Incoming {kind} call
        </p>
        {view.problem ? <CallNotice problem={view.problem} /> : null}
        <div className="call-controls">
          <span className="call-choice">
            <CallControl label="Decline" tone="danger" onClick={() => calls.decline()} testId="call-decline">
              <HangUpIcon />
            </CallControl>
            <span aria-hidden="true">Decline</span>
          </span>
          <span className="call-choice">
            <CallControl label="Accept" tone="accept" onClick={() => void calls.accept()} testId="call-accept" autoFocus>
              {view.media === 'video' ? <VideoIcon /> : <PhoneIcon />}
            </CallControl>
            <span aria-hidden="true">Accept</span>
          </span>
        </div>
      </div>
    </dialog>
  );
}

function CallScreen({ view, peer }: { view: CallSnapshot; peer: { name: string; avatarUrl: string | null } }) {
  const calls = useCalls();
  const titleId = useId();
  const ref = useModalDialog();
  const video = view.media === 'video';
  const answered = view.answeredAt !== null;
  const status =
    view.phase === 'preparing'
      ? video
        ? 'Starting the camera...'
        : 'Starting the microphone...'
      : view.phase === 'outgoing'
        ? `Calling ${peer.name}...`
        : view.phase === 'active'
          ? null
          : 'Connecting...';
  const showRemoteVideo = video && view.remoteStream !== null && view.phase === 'active';
  return (
    <dialog
      ref={ref}
      className="call-screen"
      aria-labelledby={titleId}
      data-testid="call-screen"
      data-phase={view.phase}
      data-media={view.media}
    >
      <div className={`call-stage${showRemoteVideo ? ' has-video' : ''}`}>
        {video ? (
          <MediaView
            kind="video"
            stream={view.remoteStream}
            className="call-remote-video"
            hidden={!showRemoteVideo}
            testId="call-remote-video"
            label={`${peer.name}'s video`}
          />
        ) : (
          <MediaView kind="audio" stream={view.remoteStream} testId="call-remote-audio" />
        )}
        {showRemoteVideo ? null : (
          <span className={`call-avatar${view.phase === 'outgoing' ? ' ringing' : ''}`}>
            <Avatar name={peer.name} url={smallAvatar(peer.avatarUrl)} />
          </span>
        )}
        <div className="call-heading">
          <h2 id={titleId}>{peer.name}</h2>
          <p className="call-status" aria-live="polite">
            {status ?? `${video ? 'Video' : 'Voice'} call`}
            {answered ? (
              <>
                {' · '}
                <CallDuration since={view.answeredAt!} />
              </>
            ) : null}
          </p>
        </div>
        {video && view.localStream && view.sendsVideo ? (
          <MediaView
            kind="video"
            stream={view.localStream}
            muted
            className={`call-local-video${view.cameraOff ? ' camera-off' : ''}`}
            testId="call-local-video"
            label="Your camera"
          />
        ) : null}
      </div>
      <div className="call-controls">
        <CallControl
          label={view.micMuted ? 'Unmute microphone' : 'Mute microphone'}
          pressed={view.micMuted}
          onClick={() => calls.toggleMic()}
          testId="call-mute"
          disabled={!view.localStream}
        >
          {view.micMuted ? <MicOffIcon /> : <MicIcon />}
        </CallControl>
        {video ? (
          <CallControl
            label={view.cameraOff ? 'Turn camera on' : 'Turn camera off'}
            pressed={view.cameraOff}
            onClick={() => calls.toggleCamera()}
            testId="call-camera"
            disabled={!view.localStream || !view.sendsVideo}
          >
            {view.cameraOff ? <VideoOffIcon /> : <VideoIcon />}
          </CallControl>
        ) : null}
        <CallControl
          label={answered ? 'Hang up' : 'Cancel call'}
          tone="danger"
          onClick={() => calls.hangUp()}
          testId="call-hangup"
          autoFocus
        >
          <HangUpIcon />
        </CallControl>
      </div>
    </dialog>
  );
}

/** m:ss since the call was answered, renewed every second. */
function CallDuration({ since }: { since: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <span role="timer" aria-label="Call duration" data-testid="call-duration">
      {formatCallDuration(now - since)}
    </span>
  );
}

interface MediaViewProps {
  kind: 'video' | 'audio';
  stream: MediaStream | null;
  muted?: boolean;
  hidden?: boolean;
  className?: string;
  testId: string;
  label?: string;
}

/** A <video> or <audio> element playing `stream`. */
function MediaView({ kind, stream, muted = false, hidden = false, className, testId, label }: MediaViewProps) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    const element = ref.current;
    if (!element || element.srcObject === stream) return;
    element.srcObject = stream;
    // Autoplay may be refused before the page was clicked; the call goes on regardless.
    if (stream) void element.play().catch(() => undefined);
  }, [stream]);
  if (kind === 'audio') return <audio ref={ref} autoPlay data-testid={testId} />;
  return (
    <video
      ref={ref}
      className={className}
      autoPlay
      playsInline
      muted={muted}
      hidden={hidden}
      aria-label={label}
      data-testid={testId}
    />
  );
}

interface CallControlProps {
  label: string;
  onClick: () => void;
  testId: string;
  children: ReactNode;
  tone?: 'danger' | 'accept';
  pressed?: boolean;
  disabled?: boolean;
  autoFocus?: boolean;
}

function CallControl({ label, onClick, testId, children, tone, pressed, disabled, autoFocus }: CallControlProps) {
  return (
    <button
      type="button"
      className={`call-control${tone ? ` ${tone}` : ''}`}
      aria-label={label}
      title={label}
      aria-pressed={pressed}
      disabled={disabled}
      // Focused when its dialog opens.
      data-autofocus={autoFocus ? '' : undefined}
      onClick={onClick}
      data-testid={testId}
    >
      {children}
    </button>
  );
}

/** How the last call went, or why it did not start: an alert for errors, a status otherwise. */
function CallNotice({ problem, floating = false }: { problem: CallProblem; floating?: boolean }) {
  const calls = useCalls();
  const voice = problem.voiceInstead;
  return (
    <div
      className={`call-notice ${problem.kind}${floating ? ' floating' : ''}`}
      role={problem.kind === 'error' ? 'alert' : 'status'}
      data-testid="call-error"
      data-kind={problem.kind}
    >
      <p>{problem.message}</p>
      {floating ? (
        <span className="call-notice-actions">
          {voice ? (
            <button
              type="button"
              className="button secondary compact"
              onClick={() => void calls.start(voice.conversationId, voice.peerId, 'audio')}
              data-testid="call-voice-instead"
            >
              Voice call
            </button>
          ) : null}
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => calls.dismiss()} data-testid="call-error-dismiss">
            ×
          </button>
        </span>
      ) : null}
    </div>
  );
}
