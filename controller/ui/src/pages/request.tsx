/**
 * Request access (UI contract): Cluster field pre-filled from `?search=`, the requestable
 * escalations as radios with the deny link's `&group=` checked, reason (mandatory where the
 * escalation says so, its description as hint), duration within maxValidFor, optional start.
 */
import { useMemo, useState } from 'preact/hooks';
import { storedReasonText } from '../../../sessions/reasons.ts';
import type { AppContext } from '../app.tsx';
import type { BreakglassEscalation, BreakglassSession, ItemList } from '../api-types.ts';
import { ErrorAlert, PageTitle, SessionLink, StoredReason } from '../components.tsx';
import { escalationOptions, knownClusters, preselectedOption, type EscalationOption } from '../logic/escalation-options.ts';
import { maxMinutes, REASON_MAX_LENGTH, validateRequest, type RequestFormErrors } from '../logic/request-form.ts';
import { formatSpan } from '../logic/time.ts';
import { usePolling } from '../poll.ts';

function syncQuery(cluster: string, group: string | undefined): void {
  const params = new URLSearchParams(window.location.search);
  if (cluster) params.set('search', cluster);
  else params.delete('search');
  if (group) params.set('group', group);
  else params.delete('group');
  const query = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
}

export function RequestPage({ ctx, search }: { ctx: AppContext; search: URLSearchParams }) {
  const escalations = usePolling(() => ctx.api.get<ItemList<BreakglassEscalation>>('/api/breakglassEscalations'), 'escalations');
  const [cluster, setCluster] = useState(() => search.get('search') ?? '');
  const [wantedGroup] = useState(() => search.get('group') ?? undefined);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('');
  const [start, setStart] = useState('');
  const [errors, setErrors] = useState<RequestFormErrors>({});
  const [sending, setSending] = useState(false);
  const [created, setCreated] = useState<BreakglassSession | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);

  const items = escalations.data?.items;
  const options = useMemo(() => escalationOptions(items ?? [], cluster), [items, cluster]);
  const clusters = useMemo(() => knownClusters(items ?? []), [items]);
  const preselected = preselectedOption(options, wantedGroup, cluster.trim() || undefined);
  const option: EscalationOption | undefined = options.find((o) => o.key === chosen) ?? (chosen === undefined ? preselected : undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(undefined);
    setCreated(undefined);
    const result = validateRequest({ option, reason, durationMinutes: duration, scheduledStart: start }, new Date());
    if (!result.ok) {
      setErrors(result.errors);
      const first = Object.keys(result.errors)[0];
      document.getElementById(`request-${first}`)?.focus();
      return;
    }
    setErrors({});
    setSending(true);
    try {
      setCreated(await ctx.api.post<BreakglassSession>('/api/breakglassSessions', result.request));
      setReason('');
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setSending(false);
    }
  };

  const reasonHint = option?.reasonDescription;
  const reasonStored = storedReasonText(reason) !== reason.trim();
  const reasonDescribedBy = [reasonHint ? 'request-reason-hint' : '', reasonStored ? 'request-reason-stored' : '', errors.reason ? 'request-reason-error' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <>
      <PageTitle text="Request access" />
      <form onSubmit={(e) => void submit(e)} noValidate class="form">
        <div class="field">
          <label for="request-cluster">Cluster</label>
          <input
            id="request-cluster"
            name="cluster"
            type="text"
            autoComplete="off"
            list="request-cluster-list"
            value={cluster}
            onInput={(e) => {
              const value = (e.target as HTMLInputElement).value;
              setCluster(value);
              setChosen(undefined);
              syncQuery(value.trim(), wantedGroup);
            }}
          />
          <datalist id="request-cluster-list">
            {clusters.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </div>

        <fieldset
          class="field"
          aria-invalid={errors.escalation ? 'true' : undefined}
          aria-describedby={errors.escalation ? 'request-escalation-error' : undefined}
        >
          <legend>Escalation</legend>
          {escalations.data === undefined && !escalations.error && <p class="muted">Loading escalations…</p>}
          {escalations.data !== undefined && options.length === 0 && (
            <p class="muted">
              {cluster.trim() ? `No escalation you may request on ${cluster.trim()}.` : 'No escalation you may request. Type a cluster name to see escalations that cover it.'}
            </p>
          )}
          {options.map((o, index) => {
            const id = index === 0 ? 'request-escalation' : `request-escalation-${index}`;
            return (
              <div class="radio" key={o.key}>
                <input
                  type="radio"
                  name="escalation"
                  id={id}
                  value={o.key}
                  checked={option?.key === o.key}
                  aria-describedby={`${id}-limit`}
                  onChange={() => {
                    setChosen(o.key);
                    syncQuery(cluster.trim(), o.group);
                  }}
                />
                <label for={id}>{o.label}</label>
                <span id={`${id}-limit`} class="muted">
                  up to {formatSpan(o.maxValidForMs)}
                  {o.reasonMandatory ? ', reason required' : ''}
                </span>
              </div>
            );
          })}
          {errors.escalation && (
            <p id="request-escalation-error" class="error">
              {errors.escalation}
            </p>
          )}
        </fieldset>

        <div class="field">
          <div class="label-row">
            <label for="request-reason">Reason</label>
            {option?.reasonMandatory && (
              <span class="muted" aria-hidden="true">
                required
              </span>
            )}
          </div>
          {reasonHint && (
            <p id="request-reason-hint" class="hint">
              {reasonHint}
            </p>
          )}
          <textarea
            id="request-reason"
            name="reason"
            rows={3}
            maxLength={REASON_MAX_LENGTH}
            value={reason}
            aria-required={option?.reasonMandatory ? 'true' : undefined}
            aria-invalid={errors.reason ? 'true' : undefined}
            aria-describedby={reasonDescribedBy || undefined}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
          />
          <StoredReason id="request-reason-stored" text={reason} />
          {errors.reason && (
            <p id="request-reason-error" class="error">
              {errors.reason}
            </p>
          )}
        </div>

        <div class="row">
          <div class="field">
            <label for="request-duration">Duration (minutes)</label>
            <input
              id="request-duration"
              name="duration"
              type="number"
              inputMode="numeric"
              min={1}
              max={option ? maxMinutes(option) : undefined}
              step={1}
              placeholder={option ? String(maxMinutes(option)) : ''}
              value={duration}
              aria-invalid={errors.duration ? 'true' : undefined}
              aria-describedby={['request-duration-hint', errors.duration ? 'request-duration-error' : ''].filter(Boolean).join(' ')}
              onInput={(e) => setDuration((e.target as HTMLInputElement).value)}
            />
            <p id="request-duration-hint" class="hint">
              {option ? `At most ${maxMinutes(option)} minutes; empty for the maximum.` : 'Empty for the maximum.'}
            </p>
            {errors.duration && (
              <p id="request-duration-error" class="error">
                {errors.duration}
              </p>
            )}
          </div>
          <div class="field">
            <label for="request-scheduledStart">Scheduled start</label>
            <input
              id="request-scheduledStart"
              name="scheduledStart"
              type="datetime-local"
              value={start}
              aria-invalid={errors.scheduledStart ? 'true' : undefined}
              aria-describedby={['request-start-hint', errors.scheduledStart ? 'request-start-error' : ''].filter(Boolean).join(' ')}
              onInput={(e) => setStart((e.target as HTMLInputElement).value)}
            />
            <p id="request-start-hint" class="hint">
              Optional; at least 5 minutes from now. Empty: as soon as approved.
            </p>
            {errors.scheduledStart && (
              <p id="request-start-error" class="error">
                {errors.scheduledStart}
              </p>
            )}
          </div>
        </div>

        <button type="submit" disabled={sending}>
          Request access
        </button>
      </form>
      <div role="status" class={created ? 'status' : 'status empty'}>
        {created?.metadata?.name && (
          <>
            Requested session <SessionLink name={created.metadata.name} />: {created.spec.grantedGroup} on {created.spec.cluster}, waiting for approval.
          </>
        )}
      </div>
      <ErrorAlert message={failure ?? escalations.error} />
    </>
  );
}
