import { expect } from 'chai';
import { admit, errorLines, escalation, lookupWith } from './fixtures.test-support.ts';

describe('BreakglassEscalation admission', () => {
  it('refuses an exemptFactors entry that names no pod security factor', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ podSecurityOverrides: { enabled: true, exemptFactors: ['hostPath', 'hostPathReadOnly:logs'] } }));
    expect(errorLines(outcome)).to.have.length(1);
    expect(errorLines(outcome)[0]).to.match(/^spec\.podSecurityOverrides\.exemptFactors\[0\]: unknown pod security factor "hostPath": one of /);
  });

  it('accepts a complete escalation', async () => {
    const outcome = await admit('BreakglassEscalation', escalation());
    expect(outcome.errors).to.deep.equal([]);
  });

  it('rejects an escalation without approvers', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ approvers: { users: [], groups: [] } }));
    expect(errorLines(outcome)).to.deep.equal(['spec.approvers: at least one approver user or group must be specified']);
    const missing = await admit('BreakglassEscalation', escalation({ approvers: undefined }));
    expect(errorLines(missing)).to.deep.equal(['spec.approvers: at least one approver user or group must be specified']);
  });

  it('rejects blockSelfApproval without an approver group', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ blockSelfApproval: true, approvers: { users: ['lead@example.com'] } }));
    expect(errorLines(outcome)).to.deep.equal(['spec.blockSelfApproval: blockSelfApproval requires at least one approver group']);
  });

  it('rejects the escalated group among approver groups or hidden approvers when self-approval is blocked', async () => {
    const inGroups = await admit(
      'BreakglassEscalation',
      escalation({ blockSelfApproval: true, approvers: { groups: ['sre', 'prod-admin'] } }),
    );
    expect(errorLines(inGroups)).to.deep.equal(['spec.escalatedGroup: escalatedGroup must not be an approver group when blockSelfApproval is true']);
    const hidden = await admit(
      'BreakglassEscalation',
      escalation({ blockSelfApproval: true, approvers: { groups: ['sre'], users: ['prod-admin'], hiddenFromUI: ['prod-admin'] } }),
    );
    expect(errorLines(hidden)).to.deep.equal([
      'spec.escalatedGroup: escalatedGroup must not be in approvers.hiddenFromUI when blockSelfApproval is true',
    ]);
    const allowed = await admit('BreakglassEscalation', escalation({ blockSelfApproval: false, approvers: { groups: ['prod-admin'] } }));
    expect(allowed.errors).to.deep.equal([]);
  });

  it('rejects approvalTimeout longer than maxValidFor, naming both values', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ maxValidFor: '1h', approvalTimeout: '2h' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.approvalTimeout: approvalTimeout (2h) must be less than or equal to maxValidFor (1h)']);
  });

  it('says so when the approvalTimeout that does not fit is the default the API server filled in', async () => {
    // maxValidFor 30m, approvalTimeout never written: the CRD default 1h arrives in the review.
    const outcome = await admit('BreakglassEscalation', escalation({ maxValidFor: '30m', approvalTimeout: '1h' }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.approvalTimeout: approvalTimeout (1h, the default when it is not set) must be less than or equal to maxValidFor (30m); set approvalTimeout to at most 30m',
    ]);
  });

  it('compares approvalTimeout with the default maxValidFor of 1h when maxValidFor is unset', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ maxValidFor: undefined, approvalTimeout: '90m' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.approvalTimeout: approvalTimeout (90m) must be less than or equal to maxValidFor (1h)']);
  });

  it('rejects idleTimeout below one minute and above maxValidFor', async () => {
    const short = await admit('BreakglassEscalation', escalation({ idleTimeout: '30s' }));
    expect(errorLines(short)).to.deep.equal(['spec.idleTimeout: idleTimeout must be at least 1m']);
    const long = await admit('BreakglassEscalation', escalation({ maxValidFor: '2h', idleTimeout: '3h' }));
    expect(errorLines(long)).to.deep.equal(['spec.idleTimeout: idleTimeout (3h) must not exceed maxValidFor (2h)']);
  });

  it('rejects a duration beyond the Go maximum, naming the field', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ maxValidFor: '99999999999h' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.maxValidFor: duration "99999999999h" exceeds the maximum of 2562047h47m16.854775807s']);
    const withDays = await admit('BreakglassEscalation', escalation({ retainFor: '365d2562047h' }));
    expect(errorLines(withDays)).to.deep.equal(['spec.retainFor: duration "365d2562047h" exceeds the maximum of 2562047h47m16.854775807s']);
  });

  it('rejects a day count above 365 with the reference message', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ retainFor: '400d' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.retainFor: day value 400 exceeds maximum of 365']);
  });

  it('rejects zero durations and durations that do not parse', async () => {
    const zero = await admit('BreakglassEscalation', escalation({ maxValidFor: '0s', approvalTimeout: undefined }));
    expect(errorLines(zero)).to.deep.equal(['spec.maxValidFor: maxValidFor must be positive']);
    const garbage = await admit('BreakglassEscalation', escalation({ maxValidFor: 'soon' }));
    expect(errorLines(garbage)).to.deep.equal(['spec.maxValidFor: must be a duration such as "30m", "1h30m" or "2d"']);
  });

  it('enforces the identity provider list rules', async () => {
    const exclusive = await admit(
      'BreakglassEscalation',
      escalation({ allowedIdentityProviders: ['corp'], allowedIdentityProvidersForRequests: ['corp'], allowedIdentityProvidersForApprovers: ['corp'] }),
    );
    expect(errorLines(exclusive)).to.deep.equal([
      'spec.allowedIdentityProviders: allowedIdentityProviders is mutually exclusive with allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers',
    ]);
    const half = await admit('BreakglassEscalation', escalation({ allowedIdentityProvidersForRequests: ['corp'] }));
    expect(errorLines(half)).to.deep.equal([
      'spec.allowedIdentityProvidersForRequests: allowedIdentityProvidersForRequests and allowedIdentityProvidersForApprovers must both be set or both be empty',
    ]);
  });

  it('rejects blank and duplicate list entries with their index', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ allowed: { clusters: ['prod-*'], groups: ['developers', ' ', 'developers'] } }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.allowed.groups[1]: must not be blank',
      'spec.allowed.groups[2]: duplicate value "developers"',
    ]);
  });

  it('rejects malformed cluster globs', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ allowed: { clusters: ['prod-[a-'], groups: ['developers'] } }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.allowed.clusters[0]: "prod-[a-" is not a valid glob pattern: it has an unterminated or malformed character class',
    ]);
  });

  it('rejects identifiers with invalid characters', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ approvers: { groups: ['sre team!'] } }));
    expect(errorLines(outcome)).to.deep.equal(['spec.approvers.groups[0]: "sre team!" contains invalid characters']);
  });

  it('rejects an escalated group outside the CRD pattern', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ escalatedGroup: 'prod admin' }));
    expect(errorLines(outcome)).to.deep.equal(['spec.escalatedGroup: must match the pattern ^[a-zA-Z0-9._:-]+$']);
  });

  it('rejects invalid approver domains', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ allowedApproverDomains: ['example', 'exa_mple.com', 'localhost'] }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.allowedApproverDomains[0]: "example" is not a valid domain: it must contain a dot',
      'spec.allowedApproverDomains[1]: "exa_mple.com" is not a valid domain: only letters, digits, "." and "-" are allowed',
    ]);
  });

  it('rejects unlimited session limits combined with numeric limits', async () => {
    const outcome = await admit('BreakglassEscalation', escalation({ sessionLimitsOverride: { unlimited: true, maxActiveSessionsPerUser: 2 } }));
    expect(errorLines(outcome)).to.deep.equal([
      'spec.sessionLimitsOverride.unlimited: unlimited is mutually exclusive with maxActiveSessionsPerUser and maxActiveSessionsTotal',
    ]);
  });

  it('rejects an escalation that names neither groups nor clusters, and warns about one without clusters', async () => {
    const none = await admit('BreakglassEscalation', escalation({ allowed: {} }));
    expect(errorLines(none)).to.deep.equal([
      'spec.allowed: at least one of allowed.groups, allowed.clusters or clusterConfigRefs must be specified',
    ]);
    const noClusters = await admit('BreakglassEscalation', escalation({ allowed: { groups: ['developers'] } }));
    expect(noClusters.errors).to.deep.equal([]);
    expect(noClusters.warnings).to.deep.equal(['spec.allowed: no allowed.clusters or clusterConfigRefs; this escalation applies to no cluster']);
  });

  it('rejects a name already used by an escalation in another namespace', async () => {
    const lookup = lookupWith({ escalations: () => [{ ...escalation(), metadata: { name: 'prod-admin', namespace: 'team-b' } }] });
    const outcome = await admit('BreakglassEscalation', escalation(), { lookup });
    expect(errorLines(outcome)).to.deep.equal(['metadata.name: name must be unique cluster-wide; conflicting namespace=team-b']);
    const sameNamespace = lookupWith({ escalations: () => [escalation()] });
    expect((await admit('BreakglassEscalation', escalation(), { lookup: sameNamespace })).errors).to.deep.equal([]);
  });
});
