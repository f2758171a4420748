// The message history of each conversation: the newest page, older pages on request, and the
// catch-up that fills gaps. Whenever a seq is missing (events crossing server instances, a dropped
// connection) and on every (re)connect, it asks for `after_seq=<highest seq held without a gap>`
// and merges the answer; then for `after_rev=<revision known>`, the edits and deletes it missed.

import type { Message, MessagePage } from '../api/types';
import type { ChatStateStore } from './chatState';
import { hasSeqGap, highestContiguousSeq, mergeMessages } from './messages';

export const PAGE_SIZE = 50;
const CATCH_UP_PAGE_SIZE = 100;
/** Messages shown before one opened from a search result. */
const AROUND = 10;

/** The REST calls history is read with. */
export interface HistoryApi {
  fetchMessagesBefore(id: number, options: { before?: number; limit?: number }): Promise<MessagePage>;
  fetchMessagesAfterSeq(id: number, afterSeq: number, limit?: number): Promise<MessagePage>;
  fetchMessagesAfterRev(id: number, afterRev: number, limit?: number): Promise<MessagePage>;
}

export interface HistoryOptions {
  state: ChatStateStore;
  api: HistoryApi;
  /** Wait this long before fetching a missing seq: the event may only be late. */
  gapGraceMs: number;
  describeError: (error: unknown) => string;
  /**
   * Updates what else messages touch once they are in their thread. `live`: new messages
   * (events, catch-up) rather than history.
   */
  afterIngest: (conversationId: number, messages: readonly Message[], live: boolean) => void;
}

export class MessageHistory {
  private readonly state: ChatStateStore;
  private readonly api: HistoryApi;
  private readonly gapGraceMs: number;
  private readonly describeError: (error: unknown) => string;
  private readonly afterIngest: HistoryOptions['afterIngest'];
  private readonly catchUps = new Map<number, Promise<void>>();
  private readonly catchUpAgain = new Set<number>();
  private readonly gapTimers = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(options: HistoryOptions) {
    this.state = options.state;
    this.api = options.api;
    this.gapGraceMs = options.gapGraceMs;
    this.describeError = options.describeError;
    this.afterIngest = options.afterIngest;
  }

  /** Adds messages to their thread when its history is loaded (or loading); unique by id, by seq. */
  merge(conversationId: number, messages: readonly Message[]): void {
    const thread = this.state.getState().threads[conversationId];
    if (thread && thread.status !== 'idle') {
      this.state.updateThread(conversationId, (t) => {
        const merged = mergeMessages(t.messages, messages);
        return merged === t.messages ? t : { ...t, messages: merged };
      });
    }
  }

  /** The newest page of history. */
  async loadLatest(id: number): Promise<void> {
    this.state.updateThread(id, (t) => ({ ...t, status: 'loading', error: undefined }));
    try {
      const page = await this.api.fetchMessagesBefore(id, { limit: PAGE_SIZE });
      const oldest = page.messages.reduce<Message | undefined>(
        (min, m) => (!min || m.seq < min.seq ? m : min),
        undefined,
      );
      this.state.updateThread(id, (t) => ({
        ...t,
        messages: mergeMessages(t.messages, page.messages),
        floorSeq: page.has_more && oldest ? oldest.seq - 1 : 0,
        hasOlder: page.has_more,
        knownRev: page.last_rev ?? 0,
        status: 'ready',
      }));
      this.afterIngest(id, page.messages, false);
      if (hasSeqGap(this.state.thread(id).messages, this.state.thread(id).floorSeq)) void this.catchUp(id);
    } catch (error) {
      this.state.updateThread(id, (t) => ({ ...t, status: 'error', error: this.describeError(error) }));
    }
  }

  /**
   * Makes sure the message with `seq` is held (a search result, a link): reads the page that starts
   * a little before it; the catch-up then fills the gap up to the newest messages.
   */
  async loadAround(id: number, seq: number): Promise<void> {
    if (this.state.thread(id).messages.some((m) => m.seq === seq)) return;
    const after = Math.max(0, seq - AROUND);
    try {
      const page = await this.api.fetchMessagesAfterSeq(id, after, PAGE_SIZE);
      this.state.updateThread(id, (t) => ({
        ...t,
        messages: mergeMessages(t.messages, page.messages),
        floorSeq: Math.min(t.floorSeq, after),
        hasOlder: after < t.floorSeq ? after > 0 : t.hasOlder,
        status: 'ready',
      }));
      this.afterIngest(id, page.messages, false);
    } catch (error) {
      this.state.updateThread(id, (t) => ({ ...t, error: this.describeError(error) }));
      return;
    }
    if (hasSeqGap(this.state.thread(id).messages, this.state.thread(id).floorSeq)) void this.catchUp(id);
  }

  /** The page before the oldest message held. */
  async loadOlder(id: number): Promise<void> {
    const thread = this.state.thread(id);
    const oldest = thread.messages[0];
    if (thread.status !== 'ready' || thread.loadingOlder || !thread.hasOlder || !oldest) return;
    this.state.updateThread(id, (t) => ({ ...t, loadingOlder: true }));
    try {
      const page = await this.api.fetchMessagesBefore(id, { before: oldest.id, limit: PAGE_SIZE });
      const pageOldest = page.messages.reduce<Message | undefined>(
        (min, m) => (!min || m.seq < min.seq ? m : min),
        undefined,
      );
      this.state.updateThread(id, (t) => ({
        ...t,
        messages: mergeMessages(t.messages, page.messages),
        floorSeq: page.has_more && pageOldest ? Math.min(t.floorSeq, pageOldest.seq - 1) : 0,
        hasOlder: page.has_more,
        loadingOlder: false,
      }));
    } catch (error) {
      this.state.updateThread(id, (t) => ({ ...t, loadingOlder: false, error: this.describeError(error) }));
    }
  }

  /**
   * Fetches every message after the highest seq held without a gap. One catch-up per
   * conversation at a time; one asked for meanwhile runs right after.
   */
  catchUp(id: number): Promise<void> {
    const running = this.catchUps.get(id);
    if (running) {
      this.catchUpAgain.add(id);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.catchUpAgain.delete(id);
          await this.catchUpOnce(id);
        } while (this.catchUpAgain.has(id));
      } finally {
        this.catchUps.delete(id);
      }
    })();
    this.catchUps.set(id, run);
    return run;
  }

  private async catchUpOnce(id: number): Promise<void> {
    for (;;) {
      const thread = this.state.thread(id);
      if (thread.status !== 'ready') return;
      const after = highestContiguousSeq(thread.messages, thread.floorSeq);
      let page: MessagePage;
      try {
        page = await this.api.fetchMessagesAfterSeq(id, after, CATCH_UP_PAGE_SIZE);
      } catch {
        return; // The next reconnect or gap tries again.
      }
      if (page.messages.length > 0) {
        this.merge(id, page.messages);
        this.afterIngest(id, page.messages, true);
      }
      const reached = highestContiguousSeq(this.state.thread(id).messages, this.state.thread(id).floorSeq);
      if (!page.has_more || reached <= after) break;
    }
    await this.catchUpChanges(id);
  }

  /**
   * Fetches every change after the revision known (edits and deletes missed while away, and any
   * new message) and applies it to the messages held; changes of messages older than the loaded
   * history are left for when they are loaded, in their current state.
   */
  private async catchUpChanges(id: number): Promise<void> {
    for (;;) {
      const thread = this.state.thread(id);
      if (thread.status !== 'ready' || thread.knownRev === 0) return;
      let page: MessagePage;
      try {
        page = await this.api.fetchMessagesAfterRev(id, thread.knownRev, CATCH_UP_PAGE_SIZE);
      } catch {
        return; // The next reconnect tries again.
      }
      const inView = page.messages.filter((m) => m.seq > this.state.thread(id).floorSeq);
      if (inView.length > 0) {
        this.merge(id, inView);
        this.afterIngest(id, inView, true);
      }
      // While more follow, only up to the last change returned is known; after the last page,
      // everything up to the revision read before it too.
      const lastReturned = Math.max(0, ...page.messages.map((m) => m.rev ?? 0));
      const reached = page.has_more ? lastReturned : Math.max(page.last_rev ?? 0, lastReturned);
      if (reached <= thread.knownRev) return;
      this.state.updateThread(id, (t) => ({ ...t, knownRev: Math.max(t.knownRev, reached) }));
      if (!page.has_more) return;
    }
  }

  /** Catches up on every loaded history (after a (re)connect). */
  catchUpAll(): Promise<void>[] {
    const work: Promise<void>[] = [];
    for (const [id, thread] of Object.entries(this.state.getState().threads)) {
      if (thread.status === 'ready') work.push(this.catchUp(Number(id)));
    }
    return work;
  }

  /** A live message left a gap: fetch what is missing unless it turns up within the grace time. */
  checkForGap(id: number): void {
    const thread = this.state.thread(id);
    if (thread.status !== 'ready' || !hasSeqGap(thread.messages, thread.floorSeq)) return;
    if (this.gapTimers.has(id)) return;
    this.gapTimers.set(
      id,
      setTimeout(() => {
        this.gapTimers.delete(id);
        const current = this.state.thread(id);
        if (hasSeqGap(current.messages, current.floorSeq)) void this.catchUp(id);
      }, this.gapGraceMs),
    );
  }

  /** Drops the pending gap check of a conversation the user left. */
  forgetConversation(id: number): void {
    const timer = this.gapTimers.get(id);
    if (timer) clearTimeout(timer);
    this.gapTimers.delete(id);
  }

  stopTimers(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
  }
}
