import Foundation
import Vocabulary

/// Everything a running demo instance remembers: its chaos mode, its metrics and its random source.
actor DemoState {
    let config: DemoConfig
    let startedAt: ContinuousClock.Instant
    private(set) var chaos: Chaos = .none
    private var metrics = DemoMetrics()
    private var random: any RandomNumberGenerator & Sendable

    init(config: DemoConfig, random: any RandomNumberGenerator & Sendable) {
        self.config = config
        self.random = random
        self.startedAt = .now
    }

    var uptimeSeconds: Double {
        (ContinuousClock.now - startedAt).seconds
    }

    func setChaos(_ chaos: Chaos) { self.chaos = chaos }

    /// Decides, once per application request, whether chaos fails it.
    func shouldInjectError() -> Bool {
        guard case .error(let rate) = chaos, rate > 0 else { return false }
        let unit = Double(random.next() >> 11) * 0x1.0p-53  // uniform in [0, 1)
        return unit < rate
    }

    func record(method: String, path: String, status: Int, seconds: Double) {
        metrics.record(method: method, path: path, status: status, seconds: seconds)
    }

    func renderMetrics() -> String {
        metrics.render(uptime: uptimeSeconds, mode: config.mode, chaos: chaos)
    }
}

