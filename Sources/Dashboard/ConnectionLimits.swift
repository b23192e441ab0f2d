import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// What connections may cost the root guard, whose descriptors `nft` and the store need too: at
/// most `total` open at once and `perAddress` from one address (others are closed as they
/// arrive), and a connection that has not sent a whole request head within `headerTimeout` of
/// connecting or of its last answer is closed (a slow sender holds no descriptor for long).
public final class ConnectionLimits: Sendable {
    public struct Settings: Sendable, Equatable {
        public var total: Int
        public var perAddress: Int
        public var headerTimeout: Duration

        public init(total: Int = 256, perAddress: Int = 32, headerTimeout: Duration = .seconds(10)) {
            (self.total, self.perAddress, self.headerTimeout) = (total, perAddress, headerTimeout)
        }
    }

    public let settings: Settings
    private let counts = Counts()

    public init(_ settings: Settings = Settings()) { self.settings = settings }

    /// Connections open now, in all and from `address`.
    public func open(from address: String? = nil) -> Int { counts.open(address) }

    /// A connection from `address` may stay: it is counted until `release`.
    func admit(_ address: String) -> Bool { counts.admit(address, settings) }
    func release(_ address: String) { counts.release(address) }

    final class Counts: Sendable {
        private let counts = Mutex((byAddress: [String: Int](), total: 0))

        func admit(_ address: String, _ settings: Settings) -> Bool {
            counts.withLock { counts in
                guard counts.total < settings.total, counts.byAddress[address, default: 0] < settings.perAddress else { return false }
                counts.total += 1
                counts.byAddress[address, default: 0] += 1
                return true
            }
        }

        func release(_ address: String) {
            counts.withLock { counts in
                counts.total -= 1
                counts.byAddress[address] = counts.byAddress[address].flatMap { $0 > 1 ? $0 - 1 : nil }
            }
        }

        func open(_ address: String?) -> Int { counts.withLock { counts in address.map { counts.byAddress[$0] ?? 0 } ?? counts.total } }
    }

    /// The handler each connection gets, after HTTP decoding (it sees request heads and answers' ends).
    func handler() -> Handler { Handler(limits: self) }

    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        let limits: ConnectionLimits
        private var admitted: String?
        private var headDeadline: Scheduled<Void>?

        init(limits: ConnectionLimits) { self.limits = limits }

        private var started = false

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { start(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            start(context)
            context.fireChannelActive()
        }

        /// Counts the connection, or closes it when over a limit.
        private func start(_ context: ChannelHandlerContext) {
            guard !started else { return }
            started = true
            let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
            guard limits.admit(address) else {
                context.close(promise: nil)
                return
            }
            admitted = address
            awaitHead(context)
        }

        func channelInactive(context: ChannelHandlerContext) {
            headDeadline?.cancel()
            if let admitted { limits.release(admitted) }
            admitted = nil
            context.fireChannelInactive()
        }

        /// Requests whose head has come and whose answer has not ended (more than one when a client
        /// pipelines): the head timer runs only while there are none.
        private var open = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data) {
                open += 1
                headDeadline?.cancel()
                headDeadline = nil
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) {
                open = max(0, open - 1)
                if open == 0 { awaitHead(context) }
            }
            context.write(data, promise: promise)
        }

        /// Closes the connection unless a request head arrives in time.
        private func awaitHead(_ context: ChannelHandlerContext) {
            headDeadline?.cancel()
            let timeout = limits.settings.headerTimeout
            let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
            let channel = context.channel
            headDeadline = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { channel.close(promise: nil) }
        }
    }
}
