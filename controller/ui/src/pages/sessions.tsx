/**
 * My sessions (UI contract): the user's sessions in Pending, Scheduled, Active and Ended
 * sections; withdraw a pending request, drop an active (or scheduled) session.
 */
import { useState } from 'preact/hooks';
import type { AppContext } from '../app.tsx';
import type { BreakglassSession, ItemList } from '../api-types.ts';
import { ErrorAlert, Facts, formatTime, PageTitle, SessionLink } from '../components.tsx';
import { decisionLabels } from '../logic/decision.ts';
import { groupSessions, sectionOf, SECTIONS, stateLabel, type SessionSection } from '../logic/session-groups.ts';
import { formatCrdDuration, timeLeft } from '../logic/time.ts';
import { useNow, usePolling } from '../poll.ts';

export function SessionsPage({ ctx }: { ctx: AppContext }) {
  const mine = usePolling(() => ctx.api.get<ItemList<BreakglassSession>>('/api/breakglassSessions?mine=true'), 'mine');
  const now = useNow();
  const [failure, setFailure] = useState<string | undefined>(undefined);
  // The session being withdrawn or dropped: a double click must not send the action twice.
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const groups = groupSessions(mine.data?.items ?? [], now);

  const act = async (session: BreakglassSession, action: 'withdraw' | 'drop') => {
    const name = session.metadata?.name ?? '';
    if (busy !== undefined) return;
    setBusy(name);
    setFailure(undefined);
    try {
      await ctx.api.post(`/api/breakglassSessions/${encodeURIComponent(name)}/${action}`);
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(undefined);
    }
    mine.refresh();
  };

  return (
    <>
      <PageTitle text="My sessions" />
      <ErrorAlert message={failure ?? mine.error} />
      {mine.data === undefined && !mine.error && <p class="muted">Loading sessions…</p>}
      {SECTIONS.map((section) => (
        <section key={section} aria-labelledby={`section-${section}`}>
          <h2 id={`section-${section}`}>{section}</h2>
          {mine.data !== undefined && groups[section].length === 0 && <p class="muted">None</p>}
          {groups[section].map((session) => (
            <SessionCard key={session.metadata?.name} session={session} section={section} now={now} busy={busy === session.metadata?.name} onAct={(action) => void act(session, action)} />
          ))}
        </section>
      ))}
    </>
  );
}

function SessionCard({
  session,
  section,
  now,
  busy,
  onAct,
}: {
  session: BreakglassSession;
  section: SessionSection;
  now: Date;
  busy: boolean;
  onAct: (action: 'withdraw' | 'drop') => void;
}) {
  const name = session.metadata?.name ?? '';
  const status = session.status;
  const ended = status?.reasonEnded ? ` (${status.reasonEnded})` : '';
  return (
    <article aria-label={`Session ${name}`} class="card">
      <h3>
        {session.spec.grantedGroup} on {session.spec.cluster}
      </h3>
      <p class={`state state-${section.toLowerCase()}`}>
        {stateLabel(session, now)}
        {section === 'Ended' ? ended : ''}
        {section === 'Active' && timeLeft(status?.expiresAt, now) ? ` · ${timeLeft(status?.expiresAt, now)}` : ''}
        {section === 'Pending' && timeLeft(status?.timeoutAt, now) ? ` · ${timeLeft(status?.timeoutAt, now)} for approval` : ''}
      </p>
      <Facts
        items={[
          ['Session', <SessionLink name={name} />],
          ['Reason', session.spec.requestReason],
          ['Duration', formatCrdDuration(session.spec.maxValidFor)],
          ['Scheduled start', section === 'Scheduled' ? formatTime(session.spec.scheduledStartTime) : ''],
          [decisionLabels(session).by, status?.approver],
          ['Expires', section === 'Active' || section === 'Scheduled' ? formatTime(status?.expiresAt) : ''],
          ['Requested at', formatTime(session.metadata?.creationTimestamp)],
        ]}
      />
      {sectionOf(session, now) === 'Pending' && (
        <div class="actions">
          <button type="button" class="secondary" disabled={busy} onClick={() => onAct('withdraw')}>
            Withdraw
          </button>
        </div>
      )}
      {(section === 'Active' || section === 'Scheduled') && (
        <div class="actions">
          <button type="button" class="danger" disabled={busy} onClick={() => onAct('drop')}>
            Drop
          </button>
        </div>
      )}
    </article>
  );
}
