import { expect } from 'chai';
import { Registry } from 'prom-client';
import { WEBHOOK_METRIC_NAMES, clusterLabel, registerWebhookMetrics } from './metrics.ts';

describe('webhook metrics', () => {
  it('bounds the cluster label until the ClusterConfig is resolved', () => {
    expect(clusterLabel('', false)).to.equal('_unknown');
    expect(clusterLabel('Not_A_Name', false)).to.equal('_invalid');
    expect(clusterLabel('x'.repeat(254), true)).to.equal('_invalid');
    expect(clusterLabel('prod', false)).to.equal('_unresolved');
    expect(clusterLabel('prod', true)).to.equal('prod');
  });

  it('registers the §6.8 names and counts decisions by outcome', async () => {
    const registry = new Registry();
    const metrics = registerWebhookMetrics(registry);
    metrics.observeDecision('prod', 'allowed', '', 0.002);
    metrics.observeDecision('prod', 'denied', 'global', 0.003);
    metrics.observeDecision('prod', 'error', '', 0.003);
    metrics.observePhase('prod', 'deny_policy', 0.0001);
    metrics.observeSessionCheck('prod', 'error');
    metrics.observeActivity('prod', 'payments-admin');
    const text = await registry.metrics();
    for (const name of Object.values(WEBHOOK_METRIC_NAMES)) expect(text).to.include(`# TYPE ${name}`);
    expect(text).to.include('breakglass_webhook_sar_requests_total{cluster="prod"} 3');
    expect(text).to.include('breakglass_webhook_sar_allowed_total{cluster="prod"} 1');
    expect(text).to.include('breakglass_webhook_sar_denied_total{cluster="prod"} 1');
    expect(text).to.include('breakglass_webhook_sar_decisions_total{cluster="prod",decision="denied",deny_source="global"} 1');
    expect(text).to.include('breakglass_webhook_session_sar_errors_total{cluster="prod"} 1');
    expect(text).to.include('breakglass_session_activity_requests_total{cluster="prod",granted_group="payments-admin"} 1');
    expect(text).to.include('breakglass_webhook_sar_phase_duration_seconds_count{cluster="prod",phase="deny_policy"} 1');
  });
});
