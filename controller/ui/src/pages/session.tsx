/**
 * Session detail at /sessions/<name> (the link an approver gets): the session and the approval
 * metadata of GET /api/breakglassSessions/:name, with the actions it allows the caller.
 */
import { useState } from 'preact/hooks';
import type { AppContext } from '../app.tsx';
import type { SessionWithMeta } from '../api-types.ts';
import { ErrorAlert, Facts, formatTime, PageTitle, FieldLabel, StoredReason } from '../components.tsx';
import { REASON_CHARACTERS, storedReasonText } from '../../../sessions/reasons.ts';
import { decisionLabels } from '../logic/decision.ts';
import { sectionOf, stateLabel } from '../logic/session-groups.ts';
import { formatCrdDuration, timeLeft } from '../logic/time.ts';
import { useNow, usePolling } from '../poll.ts';

type Action = 'approve' | 'reject' | 'withdraw' | 'drop' | 'cancel';

export function SessionPage({ ctx, name }: { ctx: AppContext; name: string }) {
  const path = `/api/breakglassSessions/${encodeURIComponent(name)}`;
  const detail = usePolling(() => ctx.api.get<SessionWithMeta>(path), path);
  const now = useNow();
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const session = detail.data?.session;
  const meta = detail.data?.approvalMeta;
  const section = session ? sectionOf(session, now) : undefined;
  const config = session?.spec.approvalReasonConfig;
  const mandatory = config?.mandatory === true;
  const labels = session ? decisionLabels(session) : undefined;

  const act = async (action: Action) => {
    setFailure(undefined);
    setDone(undefined);
    const decision = action === 'approve' || action === 'reject';
    if (decision && mandatory && storedReasonText(reason) === '') {
      setInvalid(reason.trim() === '' ? 'Approval reason is required' : `Approval reason is required: only ${REASON_CHARACTERS} are kept`);
      document.getElementById('detail-reason')?.focus();
      return;
    }
    setInvalid(undefined);
    setBusy(true);
    try {
      await ctx.api.post(`${path}/${action}`, decision && reason.trim() !== '' ? { reason: reason.trim() } : decision ? {} : undefined);
      setDone({ approve: 'Approved', reject: 'Rejected', withdraw: 'Withdrawn', drop: 'Dropped', cancel: 'Canceled' }[action]);
      setReason('');
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
      detail.refresh();
    }
  };

  const canDecide = meta !== undefined && (meta.canApprove || meta.canReject) && !meta.isRequester;
  return (
    <>
      <PageTitle text={`Session ${name}`} />
      <div role="status" class={done ? 'status' : 'status empty'}>
        {done && `${done}.`}
      </div>
      <ErrorAlert message={failure ?? detail.error} />
      {!detail.data && !detail.error && <p class="muted">Loading session…</p>}
      {session && meta && (
        <>
          <p class={`state state-${section?.toLowerCase()}`}>
            {stateLabel(session, now)}
            {section === 'Active' && timeLeft(session.status?.expiresAt, now) ? ` · ${timeLeft(session.status?.expiresAt, now)}` : ''}
          </p>
          {meta.stateMessage && <p>{meta.stateMessage}</p>}
          {meta.denialReason && !meta.isRequester && <p class="muted">{meta.denialReason}</p>}
          <Facts
            items={[
              ['Requester', session.spec.user],
              ['Cluster', session.spec.cluster],
              ['Group', session.spec.grantedGroup],
              ['Reason', session.spec.requestReason || 'none given'],
              ['Requested duration', formatCrdDuration(session.spec.maxValidFor)],
              ['Scheduled start', formatTime(session.spec.scheduledStartTime)],
              ['Requested at', formatTime(session.metadata?.creationTimestamp)],
              ['Time left to approve', section === 'Pending' ? timeLeft(session.status?.timeoutAt, now) : ''],
              ['Approved at', formatTime(session.status?.approvedAt)],
              ['Rejected at', formatTime(session.status?.rejectedAt)],
              [labels?.by ?? 'Decided by', session.status?.approver],
              [labels?.reason ?? 'Decision reason', session.status?.approvalReason],
              ['Expires', formatTime(session.status?.expiresAt)],
              ['Ended because', session.status?.reasonEnded],
            ]}
          />
          {canDecide && (
            <div class="field">
              <FieldLabel htmlFor="detail-reason" text="Approval reason" required={mandatory} />
              {config?.description && (
                <p id="detail-reason-hint" class="hint">
                  {config.description}
                </p>
              )}
              <textarea
                id="detail-reason"
                rows={2}
                maxLength={500}
                value={reason}
                aria-required={mandatory ? 'true' : undefined}
                aria-invalid={invalid ? 'true' : undefined}
                aria-describedby={
                  [config?.description ? 'detail-reason-hint' : '', storedReasonText(reason) !== reason.trim() ? 'detail-reason-stored' : '', invalid ? 'detail-reason-error' : '']
                    .filter(Boolean)
                    .join(' ') || undefined
                }
                onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
              />
              <StoredReason id="detail-reason-stored" text={reason} />
              {invalid && (
                <p id="detail-reason-error" class="error">
                  {invalid}
                </p>
              )}
            </div>
          )}
          <div class="actions">
            {canDecide && meta.canApprove && (
              <button type="button" disabled={busy} onClick={() => void act('approve')}>
                Approve
              </button>
            )}
            {canDecide && meta.canReject && (
              <button type="button" class="danger" disabled={busy} onClick={() => void act('reject')}>
                Reject
              </button>
            )}
            {meta.isRequester && section === 'Pending' && (
              <button type="button" class="secondary" disabled={busy} onClick={() => void act('withdraw')}>
                Withdraw
              </button>
            )}
            {meta.isRequester && (section === 'Active' || section === 'Scheduled') && (
              <button type="button" class="danger" disabled={busy} onClick={() => void act('drop')}>
                Drop
              </button>
            )}
            {meta.isApprover && !meta.isRequester && (section === 'Active' || section === 'Scheduled') && (
              <button type="button" class="danger" disabled={busy} onClick={() => void act('cancel')}>
                Cancel session
              </button>
            )}
          </div>
        </>
      )}
    </>
  );
}
