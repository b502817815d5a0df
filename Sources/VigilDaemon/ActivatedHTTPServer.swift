import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// An HTTP/1.1 server on a listening socket that systemd passed (socket activation).
///
/// Hummingbird's Application binds its own address only; this serves the same router with Hummingbird's
/// HTTP/1 channel on the inherited descriptor, and shuts down the same way: stop accepting, finish the
/// requests in hand, then return.
struct ActivatedHTTPServer<Responder: HTTPResponder>: Service where Responder.Context == BasicRequestContext {
    let descriptor: CInt
    let responder: Responder
    let configuration: HTTP1Channel.Configuration
    let maxConnections: Int
    let serverName: String
    let logger: Logger
    let onReady: @Sendable (SocketAddress?) async -> Void

    func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let serverName = self.serverName
        let maxConnections = self.maxConnections
        let child = HTTP1Channel(
            responder: { request, responseWriter, channel in
                var requestLogger = logger
                requestLogger[metadataKey: "hb.request.id"] = "\(UInt64.random(in: 0...UInt64.max))"
                let context = BasicRequestContext(source: .init(channel: channel, logger: requestLogger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    response = Response(status: .internalServerError)
                }
                response.headers[.server] = serverName
                try await responseWriter.write(response: response.head, body: response.body)
            },
            configuration: configuration
        )
        let group = MultiThreadedEventLoopGroup.singleton
        let quiesce = ServerQuiescingHelper(group: group)
        let server = try await ServerBootstrap(group: group)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AvailableConnectionsChannelHandler(maxConnections: maxConnections))
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .bind(descriptor) { (channel: any Channel) -> EventLoopFuture<HTTP1Channel.Value> in
                child.setup(channel: channel, logger: logger)
            }
        await onReady(server.channel.localAddress)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { connections in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask { await child.handle(value: connection, logger: logger) }
                    }
                }
            }
        } onGracefulShutdown: {
            quiesce.initiateShutdown(promise: nil)
        }
    }
}
