import type { Message, ReplyPreview } from '../api/types';
import { displayName } from '../chat/names';
import { quoteOf } from '../chat/sending';

/** The replied-to message above a reply; activating it scrolls to that message when it is shown. */
export function ReplyQuote({ quote }: { quote: ReplyPreview }) {
  const text = quoteText(quote);
  function show() {
    const target = document.querySelector<HTMLElement>(`.message-list [data-message-id="${quote.id}"]`);
    if (!target) return;
    target.scrollIntoView({ block: 'center', behavior: 'smooth' });
    target.classList.add('highlighted');
    window.setTimeout(() => target.classList.remove('highlighted'), 1500);
  }
  return (
    <button type="button" className="reply-quote" data-testid="reply-quote" onClick={show}>
      <span className="visually-hidden">In reply to </span>
      <span className="reply-quote-sender">{displayName(quote)}</span>
      <span className={`reply-quote-text${quote.deleted ? ' deleted' : ''}`}>{text}</span>
    </button>
  );
}

/** A quoted message's text as shown in a quote. */
export function quoteText(quote: ReplyPreview): string {
  if (quote.deleted) return 'Message deleted';
  if (quote.message_type === 'image' && !quote.content) return 'Photo';
  if (quote.message_type === 'audio' && !quote.content) return 'Voice message';
  if (quote.message_type === 'file' && !quote.content) return 'File';
  return quote.content;
}

/** The message being replied to, above the box, with a button that drops it. */
export function ReplyTarget({ message, onCancel }: { message: Message; onCancel: () => void }) {
  const quote = quoteOf(message);
  return (
    <div className="reply-target" role="group" aria-label={`Replying to ${displayName(quote)}`} data-testid="reply-target">
      <span className="reply-target-body">
        <span className="reply-quote-sender">Replying to {displayName(quote)}</span>
        <span className="reply-quote-text">{quoteText(quote)}</span>
      </span>
      <button type="button" className="reply-target-cancel" onClick={onCancel} aria-label="Cancel the reply" data-testid="reply-cancel">
        ×
      </button>
    </div>
  );
}
