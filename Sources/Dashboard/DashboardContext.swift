import Hummingbird
import NIOCore

/// A dashboard request with the address it came from: logins and bearer tokens are throttled per
/// address, so one guesser cannot lock the owner out.
public struct DashboardContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's address as text, the throttle's key ("unknown" without one).
    var peer: String { remoteAddress?.ipAddress ?? "unknown" }
}
