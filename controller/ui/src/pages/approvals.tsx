/**
 * Approvals (UI contract): one article per pending request the user may approve, newest first,
 * never the user's own; what is asked, by whom, for how long, why, and the time left before the
 * approval times out; approve or reject with a reason (mandatory where the escalation says so).
 */
import { useState } from 'preact/hooks';
import { REASON_CHARACTERS, storedReasonText } from '../../../sessions/reasons.ts';
import type { AppContext } from '../app.tsx';
import { ApiError } from '../api.ts';
import type { BreakglassSession, ItemList, SessionWithMeta } from '../api-types.ts';
import { ErrorAlert, Facts, formatTime, PageTitle, SessionLink, FieldLabel, StoredReason } from '../components.tsx';
import { raceOutcome } from '../logic/decision.ts';
import { approvalInbox } from '../logic/session-groups.ts';
import { formatCrdDuration, timeLeft } from '../logic/time.ts';
import { useNow, usePolling } from '../poll.ts';

export function ApprovalsPage({ ctx }: { ctx: AppContext }) {
  const pending = usePolling(
    () => ctx.api.get<ItemList<BreakglassSession>>('/api/breakglassSessions?state=pending&approver=true'),
    'approvals',
  );
  const now = useNow();
  const [decided, setDecided] = useState<{ name: string; outcome: string } | undefined>(undefined);
  const inbox = approvalInbox(pending.data?.items ?? [], ctx.session.identifiers, now).filter((s) => s.metadata?.name !== decided?.name);
  return (
    <>
      <PageTitle text="Approvals" />
      <div role="status" class={decided ? 'status' : 'status empty'}>
        {decided && (
          <>
            Session <SessionLink name={decided.name} /> {decided.outcome}.
          </>
        )}
      </div>
      <ErrorAlert message={pending.error} />
      {pending.data === undefined && !pending.error && <p class="muted">Loading requests…</p>}
      {pending.data !== undefined && inbox.length === 0 && <p>No pending requests</p>}
      {inbox.map((session) => (
        <ApprovalCard
          key={session.metadata?.name}
          ctx={ctx}
          session={session}
          now={now}
          onDecided={(outcome) => {
            setDecided({ name: session.metadata?.name ?? '', outcome });
            pending.refresh();
          }}
        />
      ))}
    </>
  );
}

function ApprovalCard({ ctx, session, now, onDecided }: { ctx: AppContext; session: BreakglassSession; now: Date; onDecided: (outcome: string) => void }) {
  const name = session.metadata?.name ?? '';
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const config = session.spec.approvalReasonConfig;
  const mandatory = config?.mandatory === true;
  const id = `approval-${name}`;

  const decide = async (action: 'approve' | 'reject') => {
    setFailure(undefined);
    if (mandatory && storedReasonText(reason) === '') {
      setInvalid(reason.trim() === '' ? 'Approval reason is required' : `Approval reason is required: only ${REASON_CHARACTERS} are kept`);
      document.getElementById(`${id}-reason`)?.focus();
      return;
    }
    setInvalid(undefined);
    setBusy(true);
    try {
      await ctx.api.post(`/api/breakglassSessions/${encodeURIComponent(name)}/${action}`, reason.trim() === '' ? {} : { reason: reason.trim() });
      onDecided(action === 'approve' ? 'approved' : 'rejected');
    } catch (err) {
      if (err instanceof ApiError && (err.status === 400 || err.status === 409 || err.status === 404)) {
        // Someone acted first (another approver, the requester, the timeout): say what became of
        // it on the page, since the next refresh takes this card away.
        const current = await ctx.api
          .get<SessionWithMeta>(`/api/breakglassSessions/${encodeURIComponent(name)}`)
          .then((detail) => detail.session, () => undefined);
        if (current?.status?.state !== 'Pending') {
          onDecided(raceOutcome(current));
          return;
        }
      }
      setFailure(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  const stored = storedReasonText(reason) !== reason.trim();
  const describedBy = [config?.description ? `${id}-hint` : '', stored ? `${id}-stored` : '', invalid ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <article aria-label={`Request ${name}`} class="card">
      <h2>
        {session.spec.grantedGroup} on {session.spec.cluster}
      </h2>
      <Facts
        items={[
          ['Session', <SessionLink name={name} />],
          ['Requester', session.spec.user],
          ['Cluster', session.spec.cluster],
          ['Group', session.spec.grantedGroup],
          ['Reason', session.spec.requestReason || 'none given'],
          ['Requested duration', formatCrdDuration(session.spec.maxValidFor) || '1h'],
          ['Scheduled start', formatTime(session.spec.scheduledStartTime)],
          ['Requested at', formatTime(session.metadata?.creationTimestamp)],
          ['Time left to approve', timeLeft(session.status?.timeoutAt, now) ?? 'no deadline'],
        ]}
      />
      <div class="field">
        <FieldLabel htmlFor={`${id}-reason`} text="Approval reason" required={mandatory} />
        {config?.description && (
          <p id={`${id}-hint`} class="hint">
            {config.description}
          </p>
        )}
        <textarea
          id={`${id}-reason`}
          rows={2}
          maxLength={500}
          value={reason}
          aria-required={mandatory ? 'true' : undefined}
          aria-invalid={invalid ? 'true' : undefined}
          aria-describedby={describedBy || undefined}
          onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
        />
        <StoredReason id={`${id}-stored`} text={reason} />
        {invalid && (
          <p id={`${id}-error`} class="error">
            {invalid}
          </p>
        )}
      </div>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void decide('approve')}>
          Approve
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void decide('reject')}>
          Reject
        </button>
      </div>
      <ErrorAlert message={failure} />
    </article>
  );
}
