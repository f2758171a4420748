import type { User } from '../api/types';
import { useCalls, useCallState } from '../calls/CallsContext';
import { inCall } from '../calls/callState';
import { displayName } from '../chat/names';
import { PhoneIcon, VideoIcon } from './CallIcons';

/** Voice and video call buttons in a direct chat's header. */
export function CallButtons({ conversationId, peer }: { conversationId: number; peer: User }) {
  const calls = useCalls();
  const busy = inCall(useCallState());
  const name = displayName(peer);
  return (
    <>
      <button
        type="button"
        className="icon-button call-button"
        aria-label={`Voice call with ${name}`}
        title="Voice call"
        disabled={busy}
        onClick={() => void calls.start(conversationId, peer.id, 'audio')}
        data-testid="call-voice"
      >
        <PhoneIcon />
      </button>
      <button
        type="button"
        className="icon-button call-button"
        aria-label={`Video call with ${name}`}
        title="Video call"
        disabled={busy}
        onClick={() => void calls.start(conversationId, peer.id, 'video')}
        data-testid="call-video"
      >
        <VideoIcon />
      </button>
    </>
  );
}
