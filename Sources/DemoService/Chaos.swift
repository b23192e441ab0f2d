import Vocabulary

/// A fault the canary can be told to inject, to show the policy gate refusing a bad release.
public enum Chaos: Sendable, Equatable {
    case none
    /// Every application request is delayed by this many seconds.
    case slow(seconds: Double)
    /// Each application request fails with 500 with this probability (0...1).
    case error(rate: Double)

    /// The `chaos_active` gauge value: 0 none, 1 slow, 2 error.
    var gaugeValue: Int {
        switch self {
        case .none: 0
        case .slow: 1
        case .error: 2
        }
    }

    var name: String {
        switch self {
        case .none: "none"
        case .slow: "slow"
        case .error: "error"
        }
    }
}

/// Why a `POST /chaos` body was refused; the message is sent back to the caller.
public struct ChaosRequestError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

extension Chaos {
    /// Reads a `POST /chaos` body: `{"mode":"slow","duration":S}`, `{"mode":"error","rate":R}` or `{"mode":"recover"}`.
    public static func parse(json body: JSONValue?) throws(ChaosRequestError) -> Chaos {
        guard case .object = body, let body else {
            throw ChaosRequestError(description: "body must be a JSON object such as {\"mode\":\"error\",\"rate\":0.2}")
        }
        guard let mode = body["mode"]?.string else {
            throw ChaosRequestError(description: "missing string field \"mode\" (one of slow, error, recover)")
        }
        switch mode {
        case "slow":
            guard let seconds = body["duration"]?.number, seconds >= 0, seconds <= 60 else {
                throw ChaosRequestError(description: "mode \"slow\" needs \"duration\": a number of seconds from 0 to 60")
            }
            return .slow(seconds: seconds)
        case "error":
            guard let rate = body["rate"]?.number, rate >= 0, rate <= 1 else {
                throw ChaosRequestError(description: "mode \"error\" needs \"rate\": a number from 0.0 to 1.0")
            }
            return .error(rate: rate)
        case "recover":
            return .none
        default:
            throw ChaosRequestError(description: "unknown mode \"\(mode)\" (expected slow, error or recover)")
        }
    }
}
