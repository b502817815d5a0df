import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import VigilConfig

/// The HTTP/1 limits of `http.*`: header size, idle time and connection count.
enum HTTPServerSettings {
    static func channel(_ configuration: VigilConfiguration) -> HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            additionalChannelHandlers: [CloseAfterResponseHandler()],
            idleTimeout: .seconds(Int64(configuration.http.idleTimeoutSeconds)),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: configuration.http.maxHeaderBytes,
                maxHeaderListSize: configuration.http.maxHeaderBytes,
                maxHeaderFieldCount: 100
            )
        )
    }

    static func application(_ configuration: VigilConfiguration, address: BindAddress) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: address, serverName: "vigild",
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.http.maxConnections)
        )
    }
}

/// Ends the connection once a response that says `Connection: close` has been written, as the answers to a
/// body that is too large or too slow do: the rest of such a body is never read.
///
/// The write side closes first, so the client reads the whole answer; the connection closes fully a moment
/// later, whatever the client still sends (a lingering close, which avoids a reset that would discard the
/// answer in the client's receive buffer).
final class CloseAfterResponseHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let linger = TimeAmount.seconds(2)
    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closing = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closing else {
                context.write(data, promise: promise)
                return
            }
            context.writeAndFlush(data, promise: promise)
            context.close(mode: .output, promise: nil)
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
        }
    }
}
