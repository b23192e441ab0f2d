#if canImport(Glibc)
import EdgeRules
import Glibc
#endif

/// User agents repeat: each is classified once and its kind kept in a direct-mapped cache. A slot
/// (the agent hash's low 10 bits) keeps the agent's bytes, not only its hash, so two agents share a
/// kind only when they are the same bytes: an agent crafted to collide with a cached one's hash
/// is classified on its own. Agents longer than a slot are classified every time. The slots are
/// allocated on first use: a parser that only recognises a format (`GuardLogParser.recognise`, once
/// per line until one parses) never pays for them.
struct AgentKindCache: Sendable {
    static let slots = 1024, width = 256
    private var bytes: [UInt8] = []
    /// Per slot: the agent's length + 1 (0: empty).
    private var lengths: [UInt16] = []
    private var kinds: [AgentKind] = []

    /// The kind of `agent` (whose hash is `hash`), classified by `classify` when not cached.
    @inline(__always)
    mutating func kind(of agent: UnsafeBufferPointer<UInt8>, hash: UInt32, _ classify: (UnsafeBufferPointer<UInt8>) -> AgentKind) -> AgentKind {
        let slot = Int(hash & UInt32(Self.slots - 1))
        guard agent.count < Self.width else { return classify(agent) }
        if lengths.isEmpty {
            bytes = [UInt8](repeating: 0, count: Self.slots * Self.width)
            lengths = [UInt16](repeating: 0, count: Self.slots)
            kinds = [AgentKind](repeating: .other, count: Self.slots)
        }
        let start = slot * Self.width
        let cached = bytes.withUnsafeBufferPointer { stored in
            Int(lengths[slot]) == agent.count + 1 && (agent.isEmpty || memcmp(stored.baseAddress! + start, agent.baseAddress!, agent.count) == 0)
        }
        if cached { return kinds[slot] }
        let kind = classify(agent)
        bytes.withUnsafeMutableBufferPointer { stored in
            if let source = agent.baseAddress { (stored.baseAddress! + start).update(from: source, count: agent.count) }
        }
        lengths[slot] = UInt16(agent.count + 1)
        kinds[slot] = kind
        return kind
    }
}
