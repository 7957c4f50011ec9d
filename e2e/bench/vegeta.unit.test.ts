import { expect } from 'chai';
import { latenciesFromDueTimes, parseResultLine, parseTimestampMs, type VegetaResult } from './vegeta.ts';

describe('vegeta results', () => {
  it('reads timestamps to the microsecond, in UTC or with an offset', () => {
    const utc = parseTimestampMs('2026-12-01T17:22:39.548007892Z');
    expect(utc - Date.parse('2026-12-01T17:22:39Z')).to.be.closeTo(548.007892, 1e-3);
    expect(parseTimestampMs('2026-12-01T18:22:39.548007892+01:00')).to.be.closeTo(utc, 1e-3);
    expect(parseTimestampMs('2026-12-01T17:22:39Z')).to.equal(Date.parse('2026-12-01T17:22:39Z'));
    expect(() => parseTimestampMs('yesterday')).to.throw(/RFC 3339/);
  });

  it('reads one line of `vegeta encode -to=json`: latency in ms, the body decoded, no body as empty', () => {
    const line = JSON.stringify({ attack: '', seq: 7, code: 200, timestamp: '2026-12-01T17:22:39.5Z', latency: 1_250_000, bytes_out: 10, bytes_in: 2, error: '', body: Buffer.from('{"a":1}').toString('base64'), method: 'POST', url: 'http://x/y?i=3' });
    const result = parseResultLine(line);
    expect(result).to.include({ seq: 7, code: 200, latencyMs: 1.25, url: 'http://x/y?i=3', error: '' });
    expect(result.body.toString()).to.equal('{"a":1}');
    const failed = parseResultLine(JSON.stringify({ seq: 0, code: 0, timestamp: '2026-12-01T17:22:39Z', latency: 5, error: 'connection refused', body: null }));
    expect(failed.body.length).to.equal(0);
    expect(failed.error).to.equal('connection refused');
  });

  it('counts latency from each request\'s due time, so a late send adds its lateness', () => {
    const at = (seq: number, sentAtMs: number, latencyMs: number): VegetaResult => ({ seq, sentAtMs, latencyMs, code: 200, url: '', body: Buffer.alloc(0), error: '' });
    // 1,000/s: due at 1000, 1001, 1002, 1003; the third was sent 4 ms late (a stalled generator).
    const { latencyMs, sendLagMs } = latenciesFromDueTimes([at(0, 1000, 0.5), at(1, 1001, 0.5), at(2, 1006, 0.5), at(3, 1006.2, 0.5)], 1000);
    expect(Array.from(latencyMs, (l) => Math.round(l * 1000) / 1000)).to.deep.equal([0.5, 0.5, 4.5, 3.7]);
    expect(Array.from(sendLagMs, (l) => Math.round(l * 1000) / 1000)).to.deep.equal([0, 0, 4, 3.2]);
  });

  it('takes the schedule from the earliest request, even when the first one was late', () => {
    const at = (seq: number, sentAtMs: number): VegetaResult => ({ seq, sentAtMs, latencyMs: 1, code: 200, url: '', body: Buffer.alloc(0), error: '' });
    const { latencyMs } = latenciesFromDueTimes([at(0, 2003), at(1, 2001), at(2, 2002)], 1000);
    expect(Array.from(latencyMs)).to.deep.equal([4, 1, 1]);
  });
});
