import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import VigilStore

/// Turns every error that leaves a handler, and the router's own 404 and 413, into the JSON error shape.
///
/// Unexpected errors become 500 `internal` with no detail on the wire; the log gets the error's type only,
/// since an error's description might quote request content.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as StoreError where error.code != .outOfRange {
            // The log could not be read (its database away, a disk error): worth retrying, never a 500.
            context.logger.error(
                "the log could not be read",
                metadata: ["store.error": "\(error.code.rawValue)", "http.path": "\(request.uri.path)"])
            return try APIError(
                .serviceUnavailable, code: "unavailable",
                "the log could not be read (\(error.code.rawValue)); retry later"
            ).response(from: request, context: context)
        } catch let error as HTTPParserError {
            // The request broke off or stopped being HTTP partway through its body: the client went, the idle
            // timeout closed a body that stopped coming, or the bytes were not HTTP. The client's doing, not a
            // server failure; the answer reaches a client that is still there, and the connection closes.
            context.logger.notice(
                "the request could not be read to its end",
                metadata: ["http.error": "\(error)", "http.path": "\(request.uri.path)"])
            return try APIError(
                .badRequest, code: "malformed_request", "the request could not be read to its end (\(error))",
                headers: [.connection: "close"]
            ).response(from: request, context: context)
        } catch is NIOTooManyBytesError {
            return try APIError(.contentTooLarge, code: "too_large", "the request body is larger than allowed")
                .response(from: request, context: context)
        } catch let error as HTTPError {
            let apiError: APIError
            switch error.status {
            case .notFound:
                apiError = APIError(.notFound, code: "not_found", "no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                apiError = APIError(.contentTooLarge, code: "too_large", "the request body is larger than allowed")
            default:
                apiError = APIError(
                    error.status, code: "http_\(error.status.code)", error.body ?? error.status.reasonPhrase)
            }
            return try apiError.response(from: request, context: context)
        } catch {
            context.logger.error(
                "request failed",
                metadata: ["http.error": "\(String(reflecting: type(of: error)))", "http.path": "\(request.uri.path)"])
            return try APIError(.internalServerError, code: "internal", "the server failed to handle the request")
                .response(from: request, context: context)
        }
    }
}
