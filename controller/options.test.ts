import { expect } from 'chai';
import { defaultOptions, effectiveLeaseNamespace, OptionError, parseOptions, parseRateLimit, toArgs, usage } from './options.ts';

describe('controller options', () => {
  it('defaults match the compatibility contract', () => {
    const o = defaultOptions();
    expect(o).to.include({
      enableLeaderElection: true,
      leaderElectId: 'breakglass.telekom.io',
      leaderElectLeaseDuration: 15_000,
      leaderElectRenewDeadline: 10_000,
      leaderElectRetryPeriod: 2_000,
      enableCleanup: true,
      enableWebhooks: true,
      enableFrontend: true,
      enableApi: true,
      cleanupInterval: 300_000,
      escalationStatusUpdateInterval: 600_000,
      clusterConfigCheckInterval: 600_000,
      apiBindAddress: ':8080',
      metricsBindAddress: ':8081',
      healthProbeBindAddress: ':8082',
      webhookBindAddress: ':9443',
    });
  });

  it('reads flags in every form, with the environment as fallback and flags winning', () => {
    const env = { ENABLE_LEADER_ELECTION: 'no', CLEANUP_INTERVAL: '10s', LEADER_ELECT_ID: 'from-env' };
    const o = parseOptions(['--leader-elect-id', 'from-flag', '--no-enable-cleanup', '--enable-api=0', '--cluster-config-check-interval=1m30s'], env);
    expect(o).to.include({
      enableLeaderElection: false,
      cleanupInterval: 10_000,
      leaderElectId: 'from-flag',
      enableCleanup: false,
      enableApi: false,
      clusterConfigCheckInterval: 90_000,
    });
  });

  it('refuses bad values with a message naming the flag or variable', () => {
    expect(() => parseOptions(['--enable-cleanup=maybe'], {})).to.throw(OptionError, /--enable-cleanup: "maybe" is not a boolean/);
    expect(() => parseOptions([], { CLEANUP_INTERVAL: 'soon' })).to.throw(OptionError, /CLEANUP_INTERVAL: invalid duration/);
    expect(() => parseOptions(['--cleanup-interval=0s'], {})).to.throw(OptionError, /must be positive/);
    expect(() => parseOptions(['--metrics-bind-address=8081'], {})).to.throw(OptionError, /not a bind address/);
    expect(() => parseOptions(['--frobnicate'], {})).to.throw(OptionError, /unknown flag --frobnicate/);
    expect(() => parseOptions(['--leader-elect-id'], {})).to.throw(OptionError, /needs a value/);
    expect(() => parseOptions(['--log-level=loud'], {})).to.throw(OptionError, /--log-level/);
  });

  it('refuses durations a timer cannot honour and addresses the servers cannot bind', () => {
    expect(() => parseOptions(['--cleanup-interval=1ns'], {})).to.throw(OptionError, /too short, the minimum is 100ms/);
    expect(() => parseOptions(['--cleanup-interval=1000h'], {})).to.throw(OptionError, /too long, the maximum is 596h31m/);
    expect(() => parseOptions(['--leader-elect-lease-duration=900ms', '--leader-elect-renew-deadline=500ms', '--leader-elect-retry-period=100ms'], {})).to.throw(
      OptionError,
      /--leader-elect-lease-duration: "900ms" is too short, the minimum is 1s/,
    );
    expect(() => parseOptions(['--api-bind-address=0'], {})).to.throw(OptionError, /--api-bind-address: "0" is not a bind address/);
    expect(() => parseOptions(['--webhook-bind-address=::1:8080'], {})).to.throw(OptionError, /not a bind address/);
    expect(parseOptions(['--metrics-bind-address=0', '--webhook-bind-address=[::1]:9443'], {})).to.include({ metricsBindAddress: '0', webhookBindAddress: '[::1]:9443' });
  });

  it('takes API rate limits as <n>/s with an optional burst, and refuses anything else naming the flag', () => {
    const o = parseOptions(['--api-rate-limit-per-address=200/s,400'], { API_RATE_LIMIT_PER_USER: '2.5/s' });
    expect(parseRateLimit(o.apiRateLimitPerAddress)).to.deep.equal({ ratePerSecond: 200, burst: 400 });
    expect(parseRateLimit(o.apiRateLimitPerUser), 'burst defaults to twice the rate').to.deep.equal({ ratePerSecond: 2.5, burst: 5 });
    expect(parseRateLimit(defaultOptions().apiRateLimitPerAddress), 'the documented default').to.deep.equal({ ratePerSecond: 10, burst: 20 });
    expect(parseRateLimit(defaultOptions().apiRateLimitPerUser)).to.deep.equal({ ratePerSecond: 50, burst: 100 });
    expect(parseRateLimit('0.1/s'), 'at least one at once').to.deep.equal({ ratePerSecond: 0.1, burst: 1 });
    for (const bad of ['10', '0/s', '-1/s', '10/m', '10/s,0', '10/s,', 'lots/s', `${'9'.repeat(400)}/s`, '2000000/s', '10/s,2000000']) {
      expect(() => parseOptions([`--api-rate-limit-per-user=${bad}`], {}), bad).to.throw(OptionError, /--api-rate-limit-per-user: /);
    }
  });

  it('enforces LeaseDuration > RenewDeadline > 1.2 × RetryPeriod', () => {
    expect(() => parseOptions(['--leader-elect-lease-duration=10s'], {})).to.throw(OptionError, /must be greater than --leader-elect-renew-deadline/);
    expect(() => parseOptions(['--leader-elect-retry-period=9s'], {})).to.throw(OptionError, /1.2 × --leader-elect-retry-period/);
    expect(parseOptions(['--leader-elect-lease-duration=3s', '--leader-elect-renew-deadline=2s', '--leader-elect-retry-period=500ms'], {}).leaderElectRetryPeriod).to.equal(500);
  });

  it('takes the authorization webhook TLS listener only with both certificate and key', () => {
    expect(defaultOptions()).to.include({ sarTlsBindAddress: ':8443', sarTlsCertFile: '', sarTlsKeyFile: '' });
    expect(() => parseOptions(['--sar-tls-cert-file=/tls/tls.crt'], {})).to.throw(OptionError, /--sar-tls-cert-file and --sar-tls-key-file must be set together/);
    expect(() => parseOptions([], { SAR_TLS_KEY_FILE: '/tls/tls.key' })).to.throw(OptionError, /must be set together/);
    expect(parseOptions(['--sar-tls-cert-file=/tls/tls.crt', '--sar-tls-key-file=/tls/tls.key'], {})).to.include({ sarTlsCertFile: '/tls/tls.crt' });
  });

  it('takes the Lease namespace from the flag, else the pod namespace, else breakglass-system', () => {
    expect(effectiveLeaseNamespace(parseOptions(['--leader-elect-namespace=a', '--pod-namespace=b'], {}))).to.equal('a');
    expect(effectiveLeaseNamespace(parseOptions([], { POD_NAMESPACE: 'b' }))).to.equal('b');
    expect(effectiveLeaseNamespace(defaultOptions())).to.equal('breakglass-system');
  });

  it('renders only non-default values as args, which parse back to the same options', () => {
    const wanted = { ...defaultOptions(), enableCleanup: false, leaderElectId: 'x', cleanupInterval: 90_000 };
    const args = toArgs(wanted);
    expect(args).to.deep.equal(['--leader-elect-id=x', '--enable-cleanup=false', '--cleanup-interval=1m30s']);
    expect(parseOptions(args, {})).to.deep.equal(wanted);
  });

  it('documents every flag with its variable in --help', () => {
    const text = usage();
    expect(text).to.contain('--enable-leader-election (ENABLE_LEADER_ELECTION, default true)');
    expect(text).to.contain('--cleanup-interval (CLEANUP_INTERVAL, default 5m0s)');
  });
});
