import { expect } from 'chai';
import type { EscalationOption } from './escalation-options.ts';
import { maxMinutes, validateRequest, type RequestFormInput } from './request-form.ts';

const now = new Date('2026-12-01T12:00:00Z');
const utc = (value: string) => new Date(`${value}:00Z`);
const option: EscalationOption = {
  key: 'cluster-admin@prod-1',
  group: 'cluster-admin',
  cluster: 'prod-1',
  label: 'cluster-admin on prod-1',
  reasonMandatory: true,
  maxValidForMs: 2 * 3_600_000,
};
const input = (over: Partial<RequestFormInput>): RequestFormInput => ({ option, reason: 'INC-42 database down', durationMinutes: '', scheduledStart: '', ...over });

describe('ui request form validation', () => {
  it('builds the API request body from valid input', () => {
    expect(validateRequest(input({ durationMinutes: '90', scheduledStart: '2026-12-01T13:00' }), now, utc)).to.deep.equal({
      ok: true,
      request: { cluster: 'prod-1', group: 'cluster-admin', reason: 'INC-42 database down', duration: 5400, scheduledStartTime: '2026-12-01T13:00:00.000Z' },
    });
    expect(validateRequest(input({ option: { ...option, reasonMandatory: false }, reason: '  ' }), now, utc)).to.deep.equal({
      ok: true,
      request: { cluster: 'prod-1', group: 'cluster-admin' },
    });
  });

  it('requires a reason where the escalation says so, and bounds its length', () => {
    expect(validateRequest(input({ reason: '   ' }), now, utc)).to.deep.equal({ ok: false, errors: { reason: 'Reason is required' } });
    // The API keeps only a few characters (reference §8.6): a reason of none of them is empty there.
    expect(validateRequest(input({ reason: 'Störung #42: Ärger' }), now, utc).ok).to.equal(true);
    expect(validateRequest(input({ reason: 'Ä: ü #' }), now, utc)).to.deep.equal({
      ok: false,
      errors: { reason: "Reason is required: only letters a-z, digits, spaces and . , ; ! ? ' - are kept" },
    });
    const long = validateRequest(input({ reason: 'x'.repeat(501) }), now, utc);
    expect(long).to.deep.equal({ ok: false, errors: { reason: 'Reason must be at most 500 characters' } });
  });

  it('keeps the duration within 1 minute and the maximum', () => {
    expect(maxMinutes(option)).to.equal(120);
    expect(validateRequest(input({ durationMinutes: '121' }), now, utc)).to.deep.equal({ ok: false, errors: { duration: 'Duration must be at most 120 minutes' } });
    for (const bad of ['0', '-5', '1.5', 'ten']) {
      expect(validateRequest(input({ durationMinutes: bad }), now, utc), bad).to.deep.equal({
        ok: false,
        errors: { duration: 'Duration must be a whole number of minutes, at least 1' },
      });
    }
    expect(validateRequest(input({ durationMinutes: '120' }), now, utc).ok).to.equal(true);
  });

  it('wants a scheduled start at least 5 minutes ahead', () => {
    expect(validateRequest(input({ scheduledStart: '2026-12-01T12:04' }), now, utc)).to.deep.equal({
      ok: false,
      errors: { scheduledStart: 'Scheduled start must be at least 5 minutes from now' },
    });
    expect(validateRequest(input({ scheduledStart: '2026-12-01T12:05' }), now, utc).ok).to.equal(true);
  });

  it('needs an escalation to be chosen', () => {
    expect(validateRequest(input({ option: undefined }), now, utc)).to.deep.equal({ ok: false, errors: { escalation: 'Choose an escalation' } });
  });
});
