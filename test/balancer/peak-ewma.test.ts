import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ServerState } from '../../runtime/upstream/server-state.js'

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`)

describe('ServerState latency (peak EWMA)', () => {
  it('reads 0 with no samples, then the first sample', () => {
    const state = new ServerState('http://a:1')
    assert.equal(state.peakEwma(123), 0)
    state.recordLatency(40, 1_000)
    assert.equal(state.peakEwma(1_000), 40)
    assert.equal(state.latencySamples, 1)
  })

  it('jumps to a higher sample at once', () => {
    const state = new ServerState('http://a:1')
    state.recordLatency(10, 0)
    state.recordLatency(300, 1)
    assert.equal(state.peakEwma(1), 300)
  })

  it('moves toward a lower sample by the time since the last one', () => {
    const state = new ServerState('http://a:1')
    state.latencyDecayMs = 10_000
    state.recordLatency(100, 0)
    state.recordLatency(10, 10_000)
    close(state.peakEwma(10_000), 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)))
    state.recordLatency(5, 10_000) // no time passed: no weight
    close(state.peakEwma(10_000), 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)))
  })

  it('decays toward 0 between samples, and ignores invalid samples', () => {
    const state = new ServerState('http://a:1')
    state.latencyDecayMs = 1_000
    state.recordLatency(100, 0)
    close(state.peakEwma(1_000), 100 * Math.exp(-1))
    close(state.peakEwma(-5), 100) // a clock read before the sample does not grow it
    for (const bad of [Number.NaN, -1, Infinity]) state.recordLatency(bad, 2_000)
    assert.equal(state.latencySamples, 1)
  })
})
