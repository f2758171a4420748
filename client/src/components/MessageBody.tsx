import { SERVER_URL } from '../api/http';
import type { CallSummary, Message, MessageAttachment } from '../api/types';
import { callMessageText, isMissedBy } from '../calls/callText';
import { useChat } from '../chat/ChatContext';
import { splitMentions } from '../chat/mentions';
import { serverAddress, thumbnailUrl } from '../chat/media';
import { FileCard, VoicePlayer } from './Attachments';
import { PhoneIcon, VideoIcon } from './CallIcons';

interface MessageBodyProps {
  type: Message['message_type'];
  content: string;
  fileUrl: string | null;
  /** The upload of an audio or file message (see `attachmentOf`). */
  attachment?: MessageAttachment | null;
  /** Whether the message names members (`@username` is then shown as a mention). */
  mentions?: boolean;
  /** The call a call message records. */
  call?: CallSummary | null;
}

/** What a message says: its text (mentions marked), image, voice message or file card. */
export function MessageBody({ type, content, fileUrl, attachment = null, mentions = false, call = null }: MessageBodyProps) {
  if (type === 'call') return <CallMessage call={call} content={content} />;
  if ((type === 'audio' || type === 'file') && attachment) {
    const href = serverAddress(attachment.url, SERVER_URL);
    return (
      <>
        {type === 'audio' ? <VoicePlayer attachment={attachment} src={href} /> : <FileCard attachment={attachment} href={href} />}
        {content ? <p className="message-text">{mentions ? <MentionedText content={content} /> : content}</p> : null}
      </>
    );
  }
  if (type === 'image' && fileUrl) {
    // The thumbnail in the conversation, the full image behind the link.
    return (
      <>
        <a href={serverAddress(fileUrl, SERVER_URL)} target="_blank" rel="noreferrer" className="message-image">
          <img
            src={serverAddress(thumbnailUrl(fileUrl), SERVER_URL)}
            alt={content || 'Shared image'}
            loading="lazy"
            data-testid="message-image"
          />
        </a>
        {content ? <p className="message-text">{content}</p> : null}
      </>
    );
  }
  return <p className="message-text">{mentions ? <MentionedText content={content} /> : content}</p>;
}

/** Text with its `@username`s marked; the user's own name stands out. */
function MentionedText({ content }: { content: string }) {
  const client = useChat();
  const me = `@${client.me.username}`.toLowerCase();
  return (
    <>
      {splitMentions(content).map((part, i) =>
        part.mention ? (
          <span key={i} className={`mention${part.text.toLowerCase() === me ? ' mention-me' : ''}`} data-testid="mention">
            {part.text}
          </span>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

/** A call message: its kind and how it went, from the reader's side ("Missed voice call"). */
function CallMessage({ call, content }: { call: CallSummary | null; content: string }) {
  const client = useChat();
  const meId = client.me.id;
  const unanswered = call !== null && call.reason !== 'hangup';
  return (
    <p
      className={`call-message${call && isMissedBy(call, meId) ? ' missed' : unanswered ? ' unanswered' : ''}`}
      data-testid="call-message"
      data-reason={call?.reason}
      data-media={call?.media}
    >
      <span className="call-message-icon">{call?.media === 'video' ? <VideoIcon size={18} /> : <PhoneIcon size={18} />}</span>
      <span>{call ? callMessageText(call, meId) : content}</span>
    </p>
  );
}
