import { RECEIPT_LABEL, type ReceiptState } from '../chat/receipts';

/** One tick: stored; two: delivered to another member; two highlighted: read by another member. */
export function ReceiptTicks({ state }: { state: ReceiptState }) {
  return (
    <span
      className={`ticks ticks-${state}`}
      role="img"
      aria-label={RECEIPT_LABEL[state]}
      title={RECEIPT_LABEL[state]}
      data-testid="message-ticks"
      data-receipt={state}
    >
      <svg viewBox="0 0 20 12" width="18" height="11" aria-hidden="true" focusable="false">
        <path d="M1.5 6.5l3.5 3.5 7-8" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        {state !== 'sent' ? (
          <path d="M8.5 9.2l.8.8 7-8" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        ) : null}
      </svg>
    </span>
  );
}
