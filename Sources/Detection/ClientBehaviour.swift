import EdgeRules
import Foundation
import Telemetry

/// What the behaviour rules remember of each client, and how a rule states its figures.
extension GuardEngine {
    /// One leaky bucket's state: its level, when it last changed, and the episode since it was last empty.
    struct Level: Sendable {
        var level: Float = 0
        var at: Int32 = 0
        var start: Int32 = 0
        var count: Int32 = 0

        /// Leaks to `second`, adds `amount`; true when the level passes `bucket.burst`. A late line
        /// (`second` before the bucket's last change) counts at the bucket's time, with no leak: the
        /// slow rules judge minutes of behaviour, where a request's lateness is noise (at most
        /// `rate` × lateness more than the same lines in time order would give). The flood rule,
        /// which judges seconds, replays late lines exactly instead (`GuardEngine.lateFlood`).
        mutating func add(_ amount: Double, at second: Int32, _ bucket: LeakyBucketRule) -> Bool {
            let elapsed = max(0, Double(second &- at))
            let leaked = Double(level) - elapsed * bucket.rate
            if leaked <= 0 { start = second; count = 0 }
            level = Float(max(0, leaked) + amount)
            at = max(at, second)
            count &+= 1
            return Double(level) > bucket.burst
        }

        /// Seconds since the bucket was last empty (at least 1), for a decision's condition.
        func episode(at second: Int32) -> Int { max(1, Int(second &- start)) }

        func current(at second: Int32, _ bucket: LeakyBucketRule) -> Double {
            max(0, Double(level) - Double(second &- at) * bucket.rate)
        }

        /// The rule's verdict in its own figures: what was counted over how long, against the burst
        /// and rate it allows; the decision's rate is the episode's and its baseline the rule's rate.
        func verdict(_ rule: GuardRule, counting what: String, at second: Int32, _ bucket: LeakyBucketRule, detail: String = "") -> Verdict {
            let seconds = episode(at: second)
            let condition = "\(rule.rawValue) \(what)=\(count)\(detail) in \(seconds)s > burst \(Self.figure(bucket.burst)) + \(Self.figure(bucket.rate))/s"
            return Verdict(rule: rule, condition: condition, rate: Double(count) / Double(seconds), expected: bucket.rate)
        }

        static func figure(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.3g", value)
        }
    }

    /// What the behaviour rules remember of a client.
    struct Behaviour: Sendable {
        var flood = Level(), scanner = Level(), bruteForce = Level(), scraper = Level()
        var probes: Int32 = 0
        var lastAsset: UInt32 = 0, lastFailedPath: UInt32 = 0
        /// The last eight pages (path hashes): a page among them is a repeat, not a new page (a
        /// poller cycling through a few endpoints reads nothing new).
        var recentPages = SIMD8<UInt32>(repeating: 0)
        var nextRecent: UInt8 = 0
        /// One bit per user-agent hash seen: how many agents share the address.
        var agents: UInt32 = 0

        /// The behaviour rules for one request, on this client's state in place: the first that fires
        /// names itself and its figures. A `late` line's flood is judged by `GuardEngine.lateFlood`.
        mutating func judge(_ event: ClientEvent, weighs: Bool, late: Bool, rules: DetectionRules, at second: Int) -> Verdict? {
            let tick = Int32(truncatingIfNeeded: second)
            agents |= 1 << (event.agent % 32)
            if rules.badAgents, event.agentKind == .bad {
                return Verdict(rule: .badAgent, condition: "bad_agent", rate: 0, expected: 0)
            }
            if weighs, !late, rules.flood.isEnabled, flood.add(1, at: tick, rules.flood) {
                return flood.verdict(.flood, counting: "requests", at: tick, rules.flood)
            }
            if event.isNotFound, event.path != lastFailedPath, rules.scanner.isEnabled {
                lastFailedPath = event.path
                if event.isProbe { probes &+= 1 }
                if scanner.add(event.isProbe ? rules.probeWeight : 1, at: tick, rules.scanner) {
                    return scanner.verdict(.scanner, counting: "failed_paths", at: tick, rules.scanner, detail: " probes=\(probes)")
                }
            }
            if event.isLoginFailure, rules.bruteForce.isEnabled, bruteForce.add(1, at: tick, rules.bruteForce) {
                return bruteForce.verdict(.bruteForce, counting: "login_failures", at: tick, rules.bruteForce)
            }
            if rules.scraper.isEnabled, event.agentKind != .crawler {
                if event.kind == .asset {
                    // A browser fetches assets with its pages: each one takes the scraper suspicion down.
                    scraper.level = max(0, scraper.level - 5)
                } else if event.kind == .page, event.status < 400, !any(recentPages .== SIMD8(repeating: event.path)) {
                    recentPages[Int(nextRecent)] = event.path
                    nextRecent = (nextRecent + 1) & 7
                    // Many agents behind one address are many people reading, not one scraper.
                    if agents.nonzeroBitCount <= 2, scraper.add(1, at: tick, rules.scraper) {
                        return scraper.verdict(.scraper, counting: "pages", at: tick, rules.scraper, detail: " without assets")
                    }
                }
            }
            return nil
        }
    }

    struct Verdict {
        var rule: GuardRule
        var condition: String
        var rate: Double
        var expected: Double
    }

    /// The flood rule for a late line, exactly as the log in time order would judge it: the flood
    /// bucket counts the same requests as the client's per-second window, so its level is replayed
    /// over those seconds from `burst / rate` before the line (where any level has drained) to the
    /// clock. A line later than the window counts nowhere in it, and not here either.
    mutating func lateFlood(_ slot: Int, at second: Int) -> Verdict? {
        guard let now else { return nil }
        let rule = config.rules.flood, length = config.window
        let drain = Int((rule.burst / rule.rate).rounded(.up)) + 1
        let from = max(second - drain, now - length + 1)
        guard from <= second else { return nil }
        var level = 0.0, start = from, count = 0, crossed: (start: Int, count: Int, at: Int)?
        var counter = clients[slot].window
        withBuckets(slot) { buckets in
            // Seconds the client has been quiet since its last line are zeroed first.
            counter.advance(to: now, buckets: buckets, length: length)
            for moment in from...now {
                let requests = Int(buckets[WindowCounter.slot(moment, length)] >> 16)
                level -= rule.rate
                if level <= 0 { level = 0; start = moment; count = 0 }
                guard requests > 0 else { continue }
                level += Double(requests)
                count += requests
                if moment >= second, level > rule.burst, crossed == nil { crossed = (start, count, moment) }
            }
        }
        clients[slot].window = counter
        clients[slot].behaviour.flood = Level(level: Float(level), at: Int32(truncatingIfNeeded: now),
                                              start: Int32(truncatingIfNeeded: start), count: Int32(clamping: count))
        guard let crossed else { return nil }
        let episode = Level(level: 0, at: 0, start: Int32(truncatingIfNeeded: crossed.start), count: Int32(clamping: crossed.count))
        return episode.verdict(.flood, counting: "requests", at: Int32(truncatingIfNeeded: crossed.at), rule)
    }
}
