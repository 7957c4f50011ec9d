import { expect } from 'chai';
import { sanitizeApproverReason, sanitizeRequestReason } from './reasons.ts';
import { RequestError } from './request-errors.ts';
import { labelValue, sessionGenerateName } from './session-labels.ts';

describe('reasons and labels', () => {
  it('keeps letters, digits, space and .,;!?\'- in reasons, trimmed', () => {
    expect(sanitizeRequestReason('  INC-42: <b>db</b> down; "urgent"!  ')).to.equal("INC-42 bdbb down; urgent!");
    expect(sanitizeApproverReason('ok ✓ go')).to.equal('ok  go');
    expect(sanitizeRequestReason(undefined)).to.equal('');
  });

  it('refuses request reasons over 500 characters, cuts approver reasons', () => {
    expect(() => sanitizeRequestReason('x'.repeat(501))).to.throw(RequestError, 'at most 500 characters');
    expect(sanitizeRequestReason(`${'x'.repeat(500)}   `)).to.have.length(500);
    expect(sanitizeApproverReason('y'.repeat(800))).to.have.length(500);
  });

  it('turns any text into an RFC 1123 label value', () => {
    expect(labelValue('Alice.Smith@Example.COM')).to.equal('alice-smith-example-com');
    expect(labelValue('--system:masters--')).to.equal('system-masters');
    expect(labelValue('***')).to.equal('x');
    expect(labelValue('a'.repeat(62) + '-b')).to.equal('a'.repeat(62));
    expect(sessionGenerateName('prod-eu', 'system:admins')).to.equal('prod-eu-system-admins-');
  });
});
