import { expect } from 'chai';
import { clusterLink, escalationLink, finalizeReason, requestAccessMessage } from './reasons.ts';

describe('reason texts (§6.5)', () => {
  it('builds the links from the frontend base URL, escaped, without a trailing slash', () => {
    expect(clusterLink('https://bg.example/', 'prod eu')).to.equal('https://bg.example?search=prod%20eu');
    expect(clusterLink(undefined, 'prod')).to.equal('');
    expect(clusterLink('', 'prod')).to.equal('');
    expect(escalationLink('https://bg.example', 'prod', 'oidc:ops&x')).to.equal('https://bg.example?search=prod&group=oidc%3Aops%26x');
    expect(escalationLink(undefined, 'prod', 'ops')).to.equal('');
  });

  it('finalizes reasons as the reference does', () => {
    const link = 'https://bg.example?search=prod';
    expect(finalizeReason('Denied by policy p', false, '')).to.equal('Denied by policy p');
    expect(finalizeReason('Denied by policy p', false, link)).to.equal(`Denied by policy p; see ${link}`);
    expect(finalizeReason(`go to ${link}&group=g`, false, link), 'already linked').to.equal(`go to ${link}&group=g`);
    expect(finalizeReason('', true, link)).to.equal(`Allowed; view details or sessions at ${link}`);
    expect(finalizeReason('', false, link)).to.equal(requestAccessMessage(link));
    expect(requestAccessMessage(link)).to.equal(
      `Access denied. To request temporary access via Breakglass, visit ${link} and open a new request. Include the reason for access, ` +
        'the target cluster, and the requested group(s). If you need help, contact your platform admins.',
    );
  });
});
